// Reports of the posterior run (validation/posterior_report.hpp): the terminal table,
// JSON without a single NaN, and the .npy draws in (chain, draw, …) layout with their
// manifest.
#include "validation/posterior_report.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/dataset_generators.hpp"
#include "core/kernel_stack.hpp"

namespace kernelmc::validation {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

PosteriorRunResult small_run(bool write_draws, double max_entry_draw_values = 1e7) {
  core::Config config;
  config.model.depth = 2;
  config.model.widths = {4};
  config.model.g = {2.0};
  const PosteriorRunSettings settings{.chains = 2, .warmup = 100, .draws = 60, .batches = 3,
                                      .max_entry_draw_values = max_entry_draw_values, .write_draws = write_draws};
  config.posterior = settings;
  SilentObserver silent;
  return run_posterior(config, core::config_b_dataset(), silent);
}

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("kernelmc_posterior_report_test_" + name);
  fs::remove_all(dir);
  return dir;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The shape and the float64 values of an .npy file (format 1.0, C order).
struct Npy {
  std::vector<Eigen::Index> shape;
  std::vector<double> values;
};
Npy read_npy(const fs::path& path) {
  const std::string bytes = slurp(path);
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  const std::size_t header_length =
      static_cast<unsigned char>(bytes[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
  const std::string header = bytes.substr(10, header_length);
  EXPECT_NE(header.find("'descr': '<f8'"), std::string::npos) << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
  Npy npy;
  const std::regex number("[0-9]+");
  const std::string shape = header.substr(header.find("'shape': ("));
  const std::string tuple = shape.substr(0, shape.find(')'));
  for (auto it = std::sregex_iterator(tuple.begin(), tuple.end(), number); it != std::sregex_iterator(); ++it)
    npy.shape.push_back(std::stoll(it->str()));
  npy.values.resize((bytes.size() - 10 - header_length) / sizeof(double));
  std::memcpy(npy.values.data(), bytes.data() + 10 + header_length, npy.values.size() * sizeof(double));
  return npy;
}

// A NaN or infinity spelled out as a word ("provenance" contains "nan" and is fine).
bool has_non_finite_token(const std::string& text) {
  static const std::regex token("\\b(nan|inf|infinity)\\b", std::regex::icase);
  return std::regex_search(text, token);
}

TEST(PosteriorReport, TableShowsEverySummarySamplerHealthAndTheVerdict) {
  const PosteriorRunResult r = small_run(false);
  const std::string table = format_posterior_table(r);
  for (const char* expected :
       {"kernelmc sample: config_b (P = 4), erf, L = 2, N = 4, g = 2", "posterior: collapsed", "nuts, 2 chains x 60 draws",
        "sampler: accept", "divergences", "E-BFMI min", "tree depth mean", "R-hat  ESS bulk  ESS tail",
        "kernel entries: MCSE by batch means (3 batches per chain, 5 degrees of freedom; batch length 20 draws)",
        "convergence: "})
    EXPECT_NE(table.find(expected), std::string::npos) << "missing \"" << expected << "\" in\n" << table;
  for (const char* row : {"    2  trace", "    2  KTA", "    2  CKA", "    3  trace", "    3  KTA", "    3  CKA"})
    EXPECT_NE(table.find(row), std::string::npos) << row << "\n" << table;
  // 120 draws cannot give bulk ESS ≥ 400: the gate must say FAILED and why.
  EXPECT_NE(table.find("convergence: FAILED"), std::string::npos) << table;
  EXPECT_NE(table.find("bulk ESS"), std::string::npos);
  EXPECT_FALSE(has_non_finite_token(table)) << table;
}

TEST(PosteriorReport, JsonHoldsEveryLayerAndNoNaN) {
  PosteriorRunResult r = small_run(false);
  // An undefined diagnostic (a stuck chain) must become null, not NaN.
  r.kernels.layers[0].summaries[0].rhat = std::nan("");
  r.kernels.layers[1].mcse(0, 1) = std::nan("");
  ASSERT_TRUE(has_non_finite_token("\"rhat\": NaN")) << "the check itself";
  const std::string text = posterior_report_json(r);
  EXPECT_FALSE(has_non_finite_token(text));
  const std::string table = format_posterior_table(r);
  EXPECT_FALSE(has_non_finite_token(table)) << table;
  EXPECT_NE(table.find("n/a"), std::string::npos) << table;
  const json j = json::parse(text);
  EXPECT_EQ(j["study"], "posterior");
  EXPECT_EQ(j["provenance"]["seed"], r.config.run.seed);
  EXPECT_EQ(j["provenance"]["config"]["sampler"]["kind"], "nuts");
  EXPECT_EQ(j["posterior_settings"]["form"], "collapsed");
  ASSERT_EQ(j["layers"].size(), 2u);
  EXPECT_EQ(j["layers"][0]["layer"], 2);
  EXPECT_TRUE(j["layers"][0]["summaries"]["trace"]["rhat"].is_null());
  EXPECT_TRUE(j["layers"][1]["mcse"][0][1].is_null());
  EXPECT_DOUBLE_EQ(j["layers"][1]["mean"][2][3].get<double>(), r.kernels.layer(3).mean(2, 3));
  EXPECT_EQ(j["layers"][0]["rhat"].size(), 4u) << "entry diagnostics when the draws were kept";
  EXPECT_EQ(j["sampler"]["chains"].size(), 2u);
  EXPECT_EQ(j["convergence"]["passed"], r.gate.passed);
  EXPECT_EQ(j["kernel_entries"]["degrees_of_freedom"], 5);
}

TEST(PosteriorReport, WritesDrawsInChainDrawLayoutWithAManifest) {
  const PosteriorRunResult r = small_run(true);
  const fs::path dir = scratch("draws");
  const fs::path report = write_posterior_report(r, dir);
  EXPECT_EQ(report, dir / "posterior.json");
  EXPECT_TRUE(fs::exists(report));

  const Npy kernel = read_npy(dir / "draws" / "kernel_layer3.npy");
  ASSERT_EQ(kernel.shape, (std::vector<Eigen::Index>{2, 60, 4, 4}));
  // Element (c, i, a, b) at ((c·60 + i)·4 + a)·4 + b is C^(3)_ab of draw i of chain c.
  const Eigen::MatrixXd expected = core::from_upper_triangle(r.kernels.layer(3).entry_draws[1].col(17), 4);
  for (Eigen::Index a = 0; a < 4; ++a)
    for (Eigen::Index b = 0; b < 4; ++b)
      EXPECT_EQ(kernel.values[static_cast<std::size_t>(((60 + 17) * 4 + a) * 4 + b)], expected(a, b));

  const Npy summaries = read_npy(dir / "draws" / "summaries.npy");
  ASSERT_EQ(summaries.shape, (std::vector<Eigen::Index>{2, 60, 6}));
  // Column 4 is layer 3's KTA (columns: layer2.trace, layer2.KTA, layer2.CKA, layer3.trace, ...).
  EXPECT_EQ(summaries.values[(60 + 5) * 6 + 4], r.kernels.layer(3).summary(sampling::KernelSummaryKind::kta).draws(5, 1));

  const Npy sampler = read_npy(dir / "draws" / "sampler.npy");
  ASSERT_EQ(sampler.shape, (std::vector<Eigen::Index>{2, 60, 5}));
  EXPECT_EQ(sampler.values[(60 + 2) * 5 + 0], r.chains[1].energy(2));

  const json manifest = json::parse(slurp(dir / "draws" / "manifest.json"));
  EXPECT_EQ(manifest["files"].size(), 4u);
  EXPECT_EQ(manifest["files"][0]["columns"][4], "layer3.KTA");
  EXPECT_EQ(manifest["files"][1]["columns"][0], "energy");
  EXPECT_FALSE(manifest.contains("not_written"));
  fs::remove_all(dir);
}

TEST(PosteriorReport, WritesOnlyTheChosenLayersKernelDraws) {
  PosteriorRunResult r = small_run(true);
  r.config.posterior.draw_layers = {3};
  const fs::path dir = scratch("chosen");
  write_posterior_report(r, dir);
  EXPECT_FALSE(fs::exists(dir / "draws" / "kernel_layer2.npy"));
  EXPECT_TRUE(fs::exists(dir / "draws" / "kernel_layer3.npy"));
  EXPECT_EQ(json::parse(slurp(dir / "draws" / "manifest.json"))["files"].size(), 3u);
  fs::remove_all(dir);
}

TEST(PosteriorReport, ManifestSaysWhyKernelDrawsWereNotWritten) {
  const PosteriorRunResult r = small_run(true, 100.0);
  const fs::path dir = scratch("no_kernels");
  write_posterior_report(r, dir);
  EXPECT_FALSE(fs::exists(dir / "draws" / "kernel_layer2.npy"));
  EXPECT_TRUE(fs::exists(dir / "draws" / "summaries.npy"));
  const json manifest = json::parse(slurp(dir / "draws" / "manifest.json"));
  EXPECT_NE(manifest["not_written"].get<std::string>().find("posterior.max_entry_draw_values"), std::string::npos);
  EXPECT_NE(format_posterior_table(r).find("batch-means errors only"), std::string::npos);
  fs::remove_all(dir);
}

TEST(PosteriorReport, WithoutWriteDrawsOnlyTheReportIsWritten) {
  const PosteriorRunResult r = small_run(false);
  const fs::path dir = scratch("report_only");
  write_posterior_report(r, dir);
  EXPECT_TRUE(fs::exists(dir / "posterior.json"));
  EXPECT_FALSE(fs::exists(dir / "draws"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kernelmc::validation
