// The validation study (validation/validation_study.hpp): unit lists, shards and their
// longest-first schedule, the analysis on synthetic records with known answers, a tiny
// Config B study end to end, merging shards giving the unsharded result bit for bit, and a
// failing theory recorded as data while the rest of the study is unchanged.
#include "validation/validation_study.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "core/rng.hpp"
#include "theory/one_loop.hpp"
#include "validation/validation_records_io.hpp"
#include "validation/theory_scaling.hpp"
#include "validation/validation_report.hpp"

namespace kernelmc::validation {
namespace {

namespace fs = std::filesystem;

// Config B (THEORY.md §8.1: erf, g = 2, L = 2, κ = 1), three small widths, short chains.
// 4 chains × 300 draws of collapsed NUTS at these widths give bulk ESS ≳ 800 for every
// summary (measured), so the gate passes; 2000 prior networks per width.
core::Config tiny_config() {
  core::Config c;
  c.data.kind = "config_b";
  c.model.depth = 2;
  c.model.g = {2.0};
  c.model.kappa = 1.0;
  c.validation.widths = {8, 16, 32};
  c.validation.prior_networks = 2000;
  c.validation.bootstrap_resamples = 50;
  c.posterior.chains = 4;
  c.posterior.warmup = 200;
  c.posterior.draws = 300;
  c.run.seed = 11;
  c.posterior.route = core::PosteriorRoute::chains;  // these tests are about chain units and shards
  return c;
}

TEST(ValidationStudy, ShardsPartitionTheUnitsInOrder) {
  const core::Config c = tiny_config();
  const std::vector<StudyUnit> all = study_units(c);
  ASSERT_EQ(all.size(), 3u * (1u + 4u));
  EXPECT_EQ(unit_name(all[0]), "prior N=8");
  EXPECT_EQ(unit_name(all[2]), "chain N=8 c=1");
  std::vector<StudyUnit> joined;
  for (Eigen::Index k = 1; k <= 4; ++k) {
    const auto part = shard_units(all, k, 4);
    joined.insert(joined.end(), part.begin(), part.end());
  }
  EXPECT_EQ(joined, all);
  for (const auto& [k, K] : std::vector<std::pair<int, int>>{{3, 2}, {0, 2}, {1, 0}, {1, 16}}) {
    try {
      shard_units(all, k, K);
      ADD_FAILURE() << k << "/" << K << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("--shard " + std::to_string(k) + "/" + std::to_string(K)),
                std::string::npos)
          << e.what();
    }
  }
}

// Longest first: the chains of the largest width, and the cost never increases; the
// records of units computed in any order and split are those of the whole run (each unit
// uses only its own streams).
TEST(ValidationStudy, UnitsRunLongestFirstWithRecordsIndependentOfTheOrder) {
  const core::Config c = tiny_config();
  const core::Dataset data = core::make_dataset(c.data, c.run.seed);
  const std::vector<StudyUnit> order = schedule_units(c, data, study_units(c));
  ASSERT_EQ(order.size(), study_units(c).size());
  for (Eigen::Index chain = 0; chain < 4; ++chain)
    EXPECT_EQ(unit_name(order[static_cast<std::size_t>(chain)]), "chain N=32 c=" + std::to_string(chain));
  for (std::size_t i = 1; i < order.size(); ++i)
    EXPECT_GE(unit_cost(c, data, order[i - 1]), unit_cost(c, data, order[i])) << unit_name(order[i]);

  // The units of N = 8, asked for in reverse, against each one computed alone.
  SilentObserver silent;
  std::vector<StudyUnit> width8 = shard_units(study_units(c), 1, 3);
  std::reverse(width8.begin(), width8.end());
  const StudyRecords together = compute_records(c, data, width8, silent);
  ASSERT_EQ(together.units, shard_units(study_units(c), 1, 3)) << "records are kept in study order";
  for (std::size_t i = 0; i < together.chains.size(); ++i) {
    const StudyRecords alone = compute_records(c, data, {together.units[i + 1]}, silent);
    EXPECT_TRUE(alone.chains.front().summaries == together.chains[i].summaries) << i;
    EXPECT_TRUE(alone.chains.front().batch_means == together.chains[i].batch_means) << i;
  }
}

// Synthetic chain records: the batch means of every chain are given numbers, so the pooled
// mean and its batch-means covariance have a closed form (kernel_observables.hpp).
ChainRecord synthetic_chain(Eigen::Index width, Eigen::Index chain, const std::vector<Eigen::MatrixXd>& batch_means,
                            core::Engine& engine, Eigen::Index draws) {
  ChainRecord r;
  r.width = width;
  r.chain = chain;
  r.batch_means = batch_means;
  r.batch_sizes = Eigen::VectorXd::Constant(batch_means.front().cols(), static_cast<double>(draws) /
                                                                           static_cast<double>(batch_means.front().cols()));
  // i.i.d. summaries: the gate sees R̂ ≈ 1 and ESS ≈ draws·chains.
  for (std::size_t l = 0; l < batch_means.size(); ++l) r.summaries.push_back(core::standard_normal_matrix(engine, draws, 3));
  r.summary_defined = {true, true, true};
  r.energy = core::standard_normal_matrix(engine, draws, 1).col(0);
  r.sampling_transitions = draws;
  r.mean_accept_stat = 0.8;
  return r;
}

// With batch means scattered around the one-loop posterior mean with a known spread, the
// analysis must (i) pool them exactly, (ii) find the one-loop theory consistent and (iii)
// reject the NNGP kernel when the scatter is far below μ + δC, and (iv) report the known
// adaptation along the target.
TEST(ValidationStudy, AnalysisOfSyntheticRecordsGivesTheKnownAnswers) {
  core::Config c = tiny_config();
  c.validation.widths = {16};
  c.posterior.chains = 4;
  c.posterior.batches = 25;  // J = 100 batch means, ν = 99 ≥ K = 10
  c.posterior.draws = 500;
  const core::Dataset data = core::make_dataset(c.data, c.run.seed);
  const Eigen::Index P = data.size(), K = core::triangle_size(P), J = 25;
  core::ModelSettings model = c.model;
  model.widths = {16};
  const core::ModelSpec spec = core::resolve_model(model, data.input_dim(), data.output_dim());
  const theory::OneLoopPrediction truth = theory::one_loop_prediction(spec, data, c.theory, c.run.seed);

  // Batch means m = x + s·ξ, ξ ~ N(0, 1): the SE of the pooled mean is s/√(J·C) = s/10.
  // s = 1e-3 puts the SE (1e-4) far below |μ + δC| (≈ 1e-2 at N = 16, THEORY.md §8.1).
  const double s = 1e-3;
  core::Engine engine = core::make_stream(1, core::StreamPurpose::test, 0, 0);
  StudyRecords records;
  records.config = c;
  records.units = study_units(c);
  PriorRecord prior;
  prior.width = 16;
  prior.networks = 1000000;
  for (Eigen::Index l = 2; l <= 3; ++l) {
    // Prior mean exactly C_GP + μ, with a negligible covariance.
    prior.mean.push_back(core::upper_triangle(truth.nngp.layer(l) + truth.mean_shift.layer(l)));
    prior.covariance.push_back(Eigen::MatrixXd::Identity(K, K) * 1e-12);
  }
  records.priors.push_back(prior);
  Eigen::VectorXd pooled_by_hand = Eigen::VectorXd::Zero(K);
  for (Eigen::Index chain = 0; chain < 4; ++chain) {
    std::vector<Eigen::MatrixXd> means;
    for (Eigen::Index l = 2; l <= 3; ++l) {
      const Eigen::VectorXd x = core::upper_triangle(truth.posterior_mean.layer(l));
      Eigen::MatrixXd m = x.replicate(1, J) + s * core::standard_normal_matrix(engine, K, J);
      if (l == 3) pooled_by_hand += m.rowwise().sum();
      means.push_back(m);
    }
    records.chains.push_back(synthetic_chain(16, chain, means, engine, c.posterior.draws));
  }
  pooled_by_hand /= static_cast<double>(4 * J);

  SilentObserver silent;
  const ValidationResult r = analyze_records(records, data, silent);
  ASSERT_EQ(r.widths.size(), 1u);
  const WidthValidation& w = r.widths.front();
  ASSERT_TRUE(w.gate.passed) << w.gate.advice;
  ASSERT_TRUE(w.compared);
  const LayerValidation& top = w.layers.back();
  // (i) equal batch sizes: the pooled mean is the plain average (rounding only).
  EXPECT_LT((core::upper_triangle(top.posterior_mean) - pooled_by_hand).cwiseAbs().maxCoeff(), 1e-14);
  // The batch-means SE estimates s/10 with ν = 99: relative error ≈ 1/√198 = 7 %; 5 SD = 35 %.
  const double se_mean = core::upper_triangle(top.posterior_mean_se).mean();
  EXPECT_NEAR(se_mean, s / 10.0, 0.35 * s / 10.0);
  for (const LayerValidation& l : w.layers) {
    for (const TheoryComparison& tc : l.comparisons) {
      if (tc.theory == "one_loop") {
        // (ii) the truth: the Hotelling test rejects it with probability α = 0.01 per
        // layer and quantity (seed fixed, not tuned).
        EXPECT_TRUE(tc.test_defined);
        EXPECT_TRUE(tc.consistent) << "layer " << l.layer << " " << tc.quantity << " p = " << tc.p_value;
      }
      if (tc.theory == "nngp" && tc.quantity == "posterior_mean") {
        // (iii) the largest expected |z| is max|μ + δC|/(s/10) (> 10 here); the noise moves
        // the measured one by O(1) and the SE estimate by ≲ 35 % (above): at least half.
        const double expected =
            (truth.posterior_mean.layer(l.layer) - truth.nngp.layer(l.layer)).cwiseAbs().maxCoeff() / (s / 10.0);
        ASSERT_GT(expected, 10.0) << "layer " << l.layer;
        EXPECT_FALSE(tc.consistent) << "layer " << l.layer;
        EXPECT_GT(tc.max_abs_z, 0.5 * expected) << "layer " << l.layer;
      }
    }
    // (iv) ΔC_MC = E_post − E_prior ≈ δC: N·⟨ΔC, yyᵀ⟩/|y|² within 5 of its SEs.
    const TheoryComparison* one_loop_adaptation = nullptr;
    for (const TheoryComparison& tc : l.comparisons)
      if (tc.theory == "one_loop" && tc.quantity == "adaptation") one_loop_adaptation = &tc;
    ASSERT_NE(one_loop_adaptation, nullptr);
    EXPECT_NEAR(l.target_adaptation, one_loop_adaptation->target_adaptation, 5.0 * l.target_adaptation_se);
  }
}

// A short Config B study: every unit, the analysis, and the one-loop theory consistent at
// the largest width while the NNGP kernel alone is rejected somewhere (THEORY.md §8.1:
// N·ΔC^(3) ≈ −0.12 on the diagonal). Then 2 shards, written, read back and merged, give
// byte-identical CSV tables.
TEST(ValidationStudy, MergedShardsEqualTheUnshardedRunBitForBit) {
  const core::Config c = tiny_config();
  const core::Dataset data = core::make_dataset(c.data, c.run.seed);
  SilentObserver silent;
  const StudyRecords whole = compute_records(c, data, study_units(c), silent);
  const ValidationResult direct = analyze_records(whole, data, silent);
  for (const WidthValidation& w : direct.widths) EXPECT_TRUE(w.gate.passed) << w.width << ": " << w.gate.advice;

  const fs::path root = fs::temp_directory_path() / "kernelmc_validation_study_test";
  fs::remove_all(root);
  std::vector<StudyRecords> parts;
  for (Eigen::Index k = 1; k <= 2; ++k) {
    core::Config shard_config = c;
    shard_config.run.output_dir = (root / ("shard" + std::to_string(k))).string();
    const StudyRecords part = compute_records(shard_config, data, shard_units(study_units(c), k, 2), silent);
    write_records(part, shard_config.run.output_dir);
    parts.push_back(read_records(shard_config.run.output_dir));
  }
  StudyRecords merged = merge_records(parts);
  merged.config.run.output_dir = c.run.output_dir;
  ASSERT_EQ(merged.chains.size(), whole.chains.size());
  for (std::size_t i = 0; i < whole.chains.size(); ++i) {
    for (std::size_t l = 0; l < whole.chains[i].batch_means.size(); ++l) {
      EXPECT_TRUE(merged.chains[i].batch_means[l] == whole.chains[i].batch_means[l]) << "chain record " << i;
      EXPECT_TRUE(merged.chains[i].summaries[l] == whole.chains[i].summaries[l]) << "chain record " << i;
    }
  }
  for (std::size_t i = 0; i < whole.priors.size(); ++i) {
    for (std::size_t l = 0; l < whole.priors[i].mean.size(); ++l) {
      EXPECT_TRUE(merged.priors[i].mean[l] == whole.priors[i].mean[l]);
      EXPECT_TRUE(merged.priors[i].covariance[l] == whole.priors[i].covariance[l]);
    }
  }
  const ValidationResult from_shards = analyze_records(merged, data, silent);
  EXPECT_EQ(validation_comparisons_csv(from_shards), validation_comparisons_csv(direct));
  EXPECT_EQ(validation_widths_csv(from_shards), validation_widths_csv(direct));
  EXPECT_EQ(validation_scaling_csv(from_shards), validation_scaling_csv(direct));

  // A missing or duplicated unit is named.
  std::vector<StudyRecords> only_first = {parts.front()};
  EXPECT_THROW(merge_records(only_first), DataError);
  std::vector<StudyRecords> twice = {parts.front(), parts.front(), parts.back()};
  try {
    merge_records(twice);
    ADD_FAILURE() << "a duplicated unit was accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("more than once"), std::string::npos) << e.what();
  }
  fs::remove_all(root);

  // The physics of the tiny study: one loop consistent at N = 32 for the posterior mean.
  const WidthValidation& largest = direct.widths.back();
  for (const LayerValidation& l : largest.layers) {
    for (const TheoryComparison& tc : l.comparisons) {
      if (tc.theory == "one_loop" && tc.quantity == "posterior_mean") {
        EXPECT_TRUE(tc.consistent) << "N = 32 layer " << l.layer << " p = " << tc.p_value;
      }
    }
  }
}


// Two comparisons equal bit for bit (the same records and the same theory).
void expect_same_comparison(const TheoryComparison& a, const TheoryComparison& b) {
  EXPECT_EQ(a.theory, b.theory);
  EXPECT_EQ(a.quantity, b.quantity);
  EXPECT_EQ(a.frobenius, b.frobenius) << a.theory << " " << a.quantity;
  EXPECT_EQ(a.frobenius_se, b.frobenius_se);
  EXPECT_EQ(a.excess_frobenius, b.excess_frobenius);
  EXPECT_EQ(a.chi_square, b.chi_square);
  EXPECT_EQ(a.consistent, b.consistent);
  EXPECT_TRUE(a.z == b.z);
}

std::vector<const TheoryComparison*> comparisons_except(const LayerValidation& l, const std::string& theory) {
  std::vector<const TheoryComparison*> out;
  for (const TheoryComparison& tc : l.comparisons)
    if (tc.theory != theory) out.push_back(&tc);
  return out;
}

// theory.fb.max_iterations = 1 makes the FB solve throw NumericalError at every width: the
// study still finishes, records "failed: <reason>" per width, lists it in every report
// file, and compares and fits the other theories exactly as the normal run does. Then FB
// removed at one width only: its fit uses the other two widths.
TEST(ValidationStudy, FailingFbIsRecordedPerWidthAndTheRestIsAsInTheNormalRun) {
  const core::Config c = tiny_config();
  const core::Dataset data = core::make_dataset(c.data, c.run.seed);
  SilentObserver silent;
  const StudyRecords records = compute_records(c, data, study_units(c), silent);
  const ValidationResult normal = analyze_records(records, data, silent);
  StudyRecords starved = records;
  starved.config.fb.max_iterations = 1;
  const ValidationResult failed = analyze_records(starved, data, silent);

  ASSERT_EQ(failed.widths.size(), normal.widths.size());
  for (std::size_t i = 0; i < failed.widths.size(); ++i) {
    const WidthValidation& w = failed.widths[i];
    ASSERT_TRUE(w.compared) << w.width;
    ASSERT_EQ(w.theory_failures.size(), 1u) << w.width;
    EXPECT_EQ(w.theory_failures.front().theory, "fb");
    EXPECT_NE(w.theory_failures.front().reason.find("fb_solver"), std::string::npos) << w.theory_failures.front().reason;
    EXPECT_TRUE(normal.widths[i].theory_failures.empty());
    for (std::size_t li = 0; li < w.layers.size(); ++li) {
      const auto kept = comparisons_except(w.layers[li], "fb");
      const auto expected = comparisons_except(normal.widths[i].layers[li], "fb");
      EXPECT_EQ(kept.size(), w.layers[li].comparisons.size()) << "no FB comparison where FB failed";
      ASSERT_EQ(kept.size(), expected.size());
      for (std::size_t k = 0; k < kept.size(); ++k) expect_same_comparison(*kept[k], *expected[k]);
    }
  }
  std::vector<const TheoryScaling*> expected_scaling;
  for (const TheoryScaling& s : normal.scaling)
    if (s.theory != "fb") expected_scaling.push_back(&s);
  ASSERT_EQ(failed.scaling.size(), expected_scaling.size());
  for (std::size_t k = 0; k < failed.scaling.size(); ++k) {
    EXPECT_EQ(failed.scaling[k].theory, expected_scaling[k]->theory);
    const double got = failed.scaling[k].fit.exponent, want = expected_scaling[k]->fit.exponent;
    EXPECT_TRUE(got == want || (std::isnan(got) && std::isnan(want))) << got << " vs " << want;
    EXPECT_EQ(failed.scaling[k].bootstrap_low, expected_scaling[k]->bootstrap_low);
    EXPECT_EQ(failed.scaling[k].verdict, expected_scaling[k]->verdict);
  }
  EXPECT_NE(format_validation_table(failed).find("fb failed: fb_solver"), std::string::npos);
  EXPECT_NE(validation_markdown(failed).find("## Failed predictions"), std::string::npos);
  EXPECT_NE(validation_report_json(failed).find("\"theory_failures\""), std::string::npos);
  const std::string failures_csv = validation_failures_csv(failed);
  EXPECT_EQ(std::count(failures_csv.begin(), failures_csv.end(), '\n'), 4) << failures_csv;  // header + 3 widths
  EXPECT_EQ(validation_report_json(normal).find("theory_failures"), std::string::npos);

  // FB missing at N = 8 only: its scalings use N = 16, 32 (two points: no valid fit).
  ValidationResult partial = normal;
  for (LayerValidation& l : partial.widths.front().layers)
    std::erase_if(l.comparisons, [](const TheoryComparison& tc) { return tc.theory == "fb"; });
  const std::vector<TheoryScaling> scaled = scale_theories(partial, records_by_width(records));
  ASSERT_EQ(scaled.size(), normal.scaling.size());
  for (std::size_t k = 0; k < scaled.size(); ++k) {
    const bool fb = scaled[k].theory == "fb";
    // Scalings are found by name: FB's come after the others once N = 8 lacks them.
    const auto same = std::find_if(normal.scaling.begin(), normal.scaling.end(), [&](const TheoryScaling& s) {
      return s.layer == scaled[k].layer && s.theory == scaled[k].theory && s.quantity == scaled[k].quantity;
    });
    ASSERT_NE(same, normal.scaling.end());
    EXPECT_EQ(scaled[k].widths, fb ? std::vector<Eigen::Index>({16, 32}) : std::vector<Eigen::Index>({8, 16, 32}));
    if (fb) {
      EXPECT_LE(scaled[k].fit.points, 2) << "layer " << scaled[k].layer << " " << scaled[k].quantity;
    } else {
      EXPECT_EQ(scaled[k].verdict, same->verdict);
      EXPECT_EQ(scaled[k].fit.points, same->fit.points);
    }
  }
}

}  // namespace
}  // namespace kernelmc::validation
