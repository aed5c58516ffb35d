// The figures of `kernelmc validate` (validation/validation_figures.hpp): from the
// analysis of synthetic records (no sampling), every .dat holds exactly the result's
// numbers, the scripts render PNG and SVG with gnuplot when it is installed, the
// scripts alone are written (and listed) when it is not, and a failing gnuplot run is an
// error naming the script and leaving no image.
#include "validation/validation_figures.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "core/rng.hpp"
#include "theory/one_loop.hpp"
#include "validation/detail/gnuplot.hpp"

namespace kernelmc::validation {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The data blocks of a gnuplot file: '#' lines skipped, blocks separated by two blank
// lines, each row its numbers (strtod reads "NaN" as gnuplot does).
std::vector<std::vector<std::vector<double>>> read_blocks(const fs::path& path) {
  std::istringstream in(read_all(path));
  std::vector<std::vector<std::vector<double>>> blocks(1);
  std::string line;
  int blank = 0;
  while (std::getline(in, line)) {
    if (line.empty()) {
      if (++blank == 2 && !blocks.back().empty()) blocks.emplace_back();
      continue;
    }
    blank = 0;
    if (line.front() == '#') continue;
    std::istringstream fields(line);
    std::vector<double> row;
    std::string field;
    while (fields >> field) {
      char* end = nullptr;
      row.push_back(std::strtod(field.c_str(), &end));
      EXPECT_EQ(*end, '\0') << path << ": " << line;
    }
    blocks.back().push_back(row);
  }
  return blocks;
}

// Equal as doubles, NaN equal to NaN (the files use round-trip text).
void expect_same(double file, double result, const std::string& what) {
  if (std::isnan(result)) EXPECT_TRUE(std::isnan(file)) << what << ": " << file;
  else EXPECT_EQ(file, result) << what;
}

// Config B (THEORY.md §8.1: erf, g = 2, L = 2, κ = 1) at N = 16, 32, 64, 128 from synthetic
// records (as in validation_study_test): the prior mean is C_GP + μ and the chains' batch
// means scatter around the one-loop posterior mean, so NNGP is far off and its excess
// discrepancy resolved at every width (a valid width-scaling fit). At N = 128 the
// chains' summaries are offset from each other, so R̂ fails the gate there: the
// heatmaps must come from N = 64, the largest width that passed.
const ValidationResult& synthetic_result() {
  static const ValidationResult result = [] {
    core::Config c;
    c.data.kind = "config_b";
    c.model.depth = 2;
    c.model.g = {2.0};
    c.model.kappa = 1.0;
    c.validation.widths = {16, 32, 64, 128};
    c.validation.bootstrap_resamples = 20;
    c.posterior.chains = 4;
    c.posterior.batches = 25;
    c.posterior.draws = 500;
    c.run.seed = 11;
    c.posterior.route = core::PosteriorRoute::chains;  // synthetic chain and prior records
    const core::Dataset data = core::make_dataset(c.data, c.run.seed);
    const Eigen::Index K = core::triangle_size(data.size()), J = 25;
    core::Engine engine = core::make_stream(2, core::StreamPurpose::test, 0, 0);
    StudyRecords records;
    records.config = c;
    records.units = study_units(c);
    for (const Eigen::Index N : c.validation.widths) {
      core::ModelSettings model = c.model;
      model.widths = {N};
      const core::ModelSpec spec = core::resolve_model(model, data.input_dim(), data.output_dim());
      const theory::OneLoopPrediction truth = theory::one_loop_prediction(spec, data, c.theory, c.run.seed);
      PriorRecord prior;
      prior.width = N;
      prior.networks = 1000000;
      for (Eigen::Index l = 2; l <= 3; ++l) {
        prior.mean.push_back(core::upper_triangle(truth.nngp.layer(l) + truth.mean_shift.layer(l)));
        prior.covariance.push_back(Eigen::MatrixXd::Identity(K, K) * 1e-12);
      }
      records.priors.push_back(prior);
      for (Eigen::Index chain = 0; chain < 4; ++chain) {
        ChainRecord r;
        r.width = N;
        r.chain = chain;
        for (Eigen::Index l = 2; l <= 3; ++l) {
          const Eigen::VectorXd x = core::upper_triangle(truth.posterior_mean.layer(l));
          r.batch_means.push_back(x.replicate(1, J) + 1e-4 * core::standard_normal_matrix(engine, K, J));
          Eigen::MatrixXd summaries = core::standard_normal_matrix(engine, c.posterior.draws, 3);
          if (N == 128) summaries.array() += 3.0 * static_cast<double>(chain);  // chains disagree: R̂ ≫ 1.01
          r.summaries.push_back(summaries);
        }
        r.batch_sizes = Eigen::VectorXd::Constant(J, static_cast<double>(c.posterior.draws) / J);
        r.summary_defined = {true, true, true};
        r.energy = core::standard_normal_matrix(engine, c.posterior.draws, 1).col(0);
        r.sampling_transitions = c.posterior.draws;
        r.mean_accept_stat = 0.8;
        records.chains.push_back(r);
      }
    }
    SilentObserver silent;
    return analyze_records(records, data, silent);
  }();
  return result;
}

const TheoryComparison& comparison(const LayerValidation& l, const std::string& theory, const std::string& quantity) {
  for (const TheoryComparison& tc : l.comparisons)
    if (tc.theory == theory && tc.quantity == quantity) return tc;
  throw std::runtime_error("no comparison " + theory + " " + quantity);
}

const TheoryScaling& scaling(const ValidationResult& r, Eigen::Index layer, const std::string& theory,
                             const std::string& quantity) {
  for (const TheoryScaling& s : r.scaling)
    if (s.layer == layer && s.theory == theory && s.quantity == quantity) return s;
  throw std::runtime_error("no scaling " + theory + " " + quantity);
}

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("kernelmc_validation_figures_test_" + name);
  fs::remove_all(dir);
  return dir;
}

const char* const kFigures[] = {"kernel_heatmap_layer2", "kernel_heatmap_layer3", "discrepancy_vs_width",
                                "target_adaptation_vs_width"};

TEST(ValidationFigures, DataFilesHoldTheResultsNumbers) {
  const ValidationResult& r = synthetic_result();
  ASSERT_EQ(r.widths.size(), 4u);
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(r.widths[i].compared) << r.widths[i].width << ": " << r.widths[i].gate.advice;
  ASSERT_FALSE(r.widths[3].gate.passed);
  const fs::path dir = scratch("data");
  write_validation_figures(r, dir);
  const fs::path figures = dir / "figures";
  for (const char* name : kFigures) {
    EXPECT_TRUE(fs::exists(figures / (std::string(name) + ".dat"))) << name;
    EXPECT_TRUE(fs::exists(figures / (std::string(name) + ".gp"))) << name;
  }

  // Heatmaps at N = 64: E_post, the closest posterior-mean theory, its z-scores.
  const WidthValidation& n64 = r.widths[2];
  ASSERT_EQ(n64.width, 64);
  for (const LayerValidation& lv : n64.layers) {
    const auto blocks = read_blocks(figures / ("kernel_heatmap_layer" + std::to_string(lv.layer) + ".dat"));
    ASSERT_EQ(blocks.size(), 3u);
    const TheoryComparison* best = nullptr;
    for (const TheoryComparison& tc : lv.comparisons)
      if (tc.quantity == "posterior_mean" && (!best || tc.frobenius < best->frobenius)) best = &tc;
    ASSERT_NE(best, nullptr);
    // The records sit on the one-loop mean (SE 1e-5), so it is the closest theory.
    EXPECT_EQ(best->theory, "one_loop");
    const Eigen::MatrixXd* expected[] = {&lv.posterior_mean, &best->prediction, &best->z};
    for (int b = 0; b < 3; ++b) {
      const Eigen::MatrixXd& M = *expected[b];
      ASSERT_EQ(blocks[b].size(), static_cast<std::size_t>(M.rows()));
      for (Eigen::Index i = 0; i < M.rows(); ++i) {
        ASSERT_EQ(blocks[b][i].size(), static_cast<std::size_t>(M.cols()));
        for (Eigen::Index j = 0; j < M.cols(); ++j)
          expect_same(blocks[b][i][j], M(i, j), "layer " + std::to_string(lv.layer) + " block " + std::to_string(b));
      }
    }
  }

  // Discrepancy: blocks (mean, l = 2), (mean, 3), (adaptation, 2), (adaptation, 3); rows
  // N = 16, 32, 64; per theory 8 columns.
  const auto disc = read_blocks(figures / "discrepancy_vs_width.dat");
  ASSERT_EQ(disc.size(), 4u);
  int block = 0;
  bool some_fit = false;
  for (const std::string quantity : {"posterior_mean", "adaptation"}) {
    for (std::size_t li = 0; li < 2; ++li, ++block) {
      std::vector<std::string> theories;
      for (const TheoryComparison& tc : r.widths[0].layers[li].comparisons)
        if (tc.quantity == quantity) theories.push_back(tc.theory);
      ASSERT_EQ(disc[block].size(), 3u);
      for (std::size_t wi = 0; wi < 3; ++wi) {
        const std::vector<double>& row = disc[block][wi];
        const LayerValidation& lv = r.widths[wi].layers[li];
        ASSERT_EQ(row.size(), 1 + 8 * theories.size());
        EXPECT_EQ(row[0], static_cast<double>(r.widths[wi].width));
        for (std::size_t t = 0; t < theories.size(); ++t) {
          const TheoryComparison& tc = comparison(lv, theories[t], quantity);
          const TheoryScaling& s = scaling(r, lv.layer, theories[t], quantity);
          const std::size_t c = 1 + 8 * t;
          const std::string what = quantity + " layer " + std::to_string(lv.layer) + " " + theories[t];
          expect_same(row[c], tc.relative, what + " relative");
          expect_same(row[c + 1], tc.relative_se, what + " relative_se");
          expect_same(row[c + 4], tc.frobenius, what + " frobenius");
          expect_same(row[c + 5], tc.frobenius_se, what + " frobenius_se");
          expect_same(row[c + 6], tc.excess_frobenius, what + " excess");
          // The reference norm is D/relative; the relative columns are the absolute ones over it.
          const double ref = tc.frobenius / tc.relative;
          EXPECT_NEAR(row[c + 2], tc.excess_frobenius / ref, 1e-12 * std::abs(row[c + 2]) + 1e-300) << what;
          if (s.fit.valid()) {
            some_fit = true;
            const double fit = s.fit.amplitude * std::pow(static_cast<double>(r.widths[wi].width), s.fit.exponent);
            EXPECT_NEAR(row[c + 7], fit, 1e-12 * fit) << what;
            EXPECT_NEAR(row[c + 3], fit / ref, 1e-12 * fit / ref) << what;
          } else {
            EXPECT_TRUE(std::isnan(row[c + 7]) && std::isnan(row[c + 3])) << what;
          }
        }
      }
    }
  }
  // NNGP is off by μ + δC = O(1/N) at SE 1e-5: its excess is resolved at all three widths.
  EXPECT_TRUE(some_fit);
  EXPECT_TRUE(scaling(r, 3, "nngp", "posterior_mean").fit.valid());

  // Adaptation along the target: every width (N = 128 with gate 0 and no predictions).
  const auto target = read_blocks(figures / "target_adaptation_vs_width.dat");
  ASSERT_EQ(target.size(), 2u);
  for (std::size_t li = 0; li < 2; ++li) {
    std::vector<std::string> theories;
    for (const TheoryComparison& tc : r.widths[0].layers[li].comparisons)
      if (tc.quantity == "adaptation") theories.push_back(tc.theory);
    ASSERT_EQ(target[li].size(), 4u);
    for (std::size_t wi = 0; wi < 4; ++wi) {
      const std::vector<double>& row = target[li][wi];
      const WidthValidation& w = r.widths[wi];
      const LayerValidation& lv = w.layers[li];
      ASSERT_EQ(row.size(), 4 + theories.size());
      EXPECT_EQ(row[0], static_cast<double>(w.width));
      EXPECT_EQ(row[1], w.gate.passed ? 1.0 : 0.0);
      expect_same(row[2], lv.target_adaptation, "measured");
      expect_same(row[3], lv.target_adaptation_se, "measured_se");
      for (std::size_t t = 0; t < theories.size(); ++t) {
        if (w.compared) expect_same(row[4 + t], comparison(lv, theories[t], "adaptation").target_adaptation, theories[t]);
        else EXPECT_TRUE(std::isnan(row[4 + t])) << theories[t] << " at N = " << w.width;
      }
    }
  }
  fs::remove_all(dir);
}

TEST(ValidationFigures, GnuplotRendersPngAndSvg) {
  if (!detail::gnuplot_available()) GTEST_SKIP() << "gnuplot not installed";
  const fs::path dir = scratch("render");
  const std::vector<fs::path> not_rendered = write_validation_figures(synthetic_result(), dir);
  EXPECT_TRUE(not_rendered.empty());
  for (const char* name : kFigures) {
    const std::string png = read_all(dir / "figures" / (std::string(name) + ".png"));
    const std::string svg = read_all(dir / "figures" / (std::string(name) + ".svg"));
    ASSERT_GT(png.size(), 8u) << name;
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << name;
    EXPECT_NE(svg.find("<svg"), std::string::npos) << name;
  }
  // Nothing else in the directory (no gnuplot stderr logs or temporary files).
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir / "figures")) ++files;
  EXPECT_EQ(files, 4u * std::size(kFigures));
  fs::remove_all(dir);
}

// A relative output directory (`kernelmc --out out`, the usual case) renders too: gnuplot runs
// in the figures directory, so no path handed to the shell may be relative to the caller's.
TEST(ValidationFigures, RelativeOutputDirectoryRenders) {
  if (!detail::gnuplot_available()) GTEST_SKIP() << "gnuplot not installed";
  const fs::path parent = scratch("relative");
  fs::create_directories(parent);
  const fs::path previous = fs::current_path();
  fs::current_path(parent);
  std::vector<fs::path> not_rendered;
  EXPECT_NO_THROW(not_rendered = write_validation_figures(synthetic_result(), "out"));
  fs::current_path(previous);
  EXPECT_TRUE(not_rendered.empty());
  for (const char* name : kFigures) EXPECT_TRUE(fs::exists(parent / "out" / "figures" / (std::string(name) + ".png"))) << name;
  fs::remove_all(parent);
}

// Without gnuplot on PATH only the .dat and .gp are written, and every script is returned.
TEST(ValidationFigures, WithoutGnuplotTheScriptsAreListed) {
  const ValidationResult& r = synthetic_result();
  const fs::path dir = scratch("absent");
  const char* old_path = std::getenv("PATH");
  const std::string saved = old_path ? old_path : "";
  ::setenv("PATH", (dir / "empty-bin").c_str(), 1);
  std::vector<fs::path> not_rendered;
  try {
    not_rendered = write_validation_figures(r, dir);
  } catch (...) {
    ::setenv("PATH", saved.c_str(), 1);
    throw;
  }
  ::setenv("PATH", saved.c_str(), 1);
  ASSERT_EQ(not_rendered.size(), std::size(kFigures));
  for (std::size_t i = 0; i < not_rendered.size(); ++i)
    EXPECT_EQ(not_rendered[i].filename().string(), std::string(kFigures[i]) + ".gp");
  for (const char* name : kFigures) {
    EXPECT_TRUE(fs::exists(dir / "figures" / (std::string(name) + ".gp"))) << name;
    EXPECT_FALSE(fs::exists(dir / "figures" / (std::string(name) + ".png"))) << name;
  }
  fs::remove_all(dir);
}

// No width passed the gate: only the measured adaptation along the target is drawn (the
// heatmaps and the discrepancy figure need comparisons), and it still renders.
TEST(ValidationFigures, WithoutComparedWidthsOnlyTheMeasuredAdaptationIsDrawn) {
  ValidationResult r;
  r.dataset_name = "xor";
  r.points = 4;
  for (const Eigen::Index N : {32, 64}) {
    WidthValidation w;
    w.width = N;
    for (Eigen::Index l = 2; l <= 3; ++l) {
      LayerValidation lv;
      lv.layer = l;
      lv.target_adaptation = 0.1 * static_cast<double>(l);
      lv.target_adaptation_se = 0.01;
      w.layers.push_back(lv);
    }
    r.widths.push_back(w);
  }
  const fs::path dir = scratch("uncompared");
  const std::vector<fs::path> not_rendered = write_validation_figures(r, dir);
  std::size_t data_files = 0;
  for (const auto& entry : fs::directory_iterator(dir / "figures")) data_files += entry.path().extension() == ".dat";
  EXPECT_EQ(data_files, 1u);
  const auto blocks = read_blocks(dir / "figures" / "target_adaptation_vs_width.dat");
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[1][1], (std::vector<double>{64.0, 0.0, 0.30000000000000004, 0.01}));
  if (detail::gnuplot_available()) {
    EXPECT_TRUE(not_rendered.empty());
    EXPECT_GT(fs::file_size(dir / "figures" / "target_adaptation_vs_width.png"), 0u);
  }
  fs::remove_all(dir);
}

// A script gnuplot rejects: kernelmc::Error naming the script and gnuplot's message, and
// the image it had started is removed.
TEST(ValidationFigures, FailingGnuplotIsAnErrorNamingTheScript) {
  if (!detail::gnuplot_available()) GTEST_SKIP() << "gnuplot not installed";
  const fs::path dir = scratch("failing");
  fs::create_directories(dir);
  std::ofstream(dir / "broken.gp") << "set terminal svg\nset output 'broken.svg'\nplot 'missing.dat' using 1:2\n";
  try {
    detail::run_gnuplot(dir, "broken.gp", {"broken.svg"});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("broken.gp"), std::string::npos) << what;
    EXPECT_NE(what.find("missing.dat"), std::string::npos) << what;  // gnuplot's own message
  }
  EXPECT_FALSE(fs::exists(dir / "broken.svg"));
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u);  // the script only: no stderr log left behind
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kernelmc::validation
