// The validation study's verdicts (validation/validation_study.hpp) where they are
// statistical: the analysis of synthetic records with known answers, and a tiny Config B
// study end to end. Each Hotelling test is read through its p-value, Bonferroni over the
// tests of one TEST at family-wise false-fail kFamilyAlpha, and has a twin that must fail.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "core/dataset_generators.hpp"
#include "core/kernel_stack.hpp"
#include "core/rng.hpp"
#include "support/statistical.hpp"
#include "theory/one_loop.hpp"
#include "validation/validation_report.hpp"
#include "validation/validation_study.hpp"
#include "validation/validation_study_fixtures.hpp"

namespace kernelmc::validation {
namespace {

using fixtures::tiny_config;

constexpr double kFamilyAlpha = 1e-4;

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
// adaptation along the target, which (twin) is far from the NNGP's zero.
TEST(ValidationStudyStatistical, AnalysisOfSyntheticRecordsGivesTheKnownAnswers) {
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
  core::Engine engine = core::make_stream(testing::test_seed(1), core::StreamPurpose::test, 0, 0);
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
  // The batch-means SE estimates s/10 with ν = 99: relative error ≈ 1/√198 = 7 %, and the
  // mean over K = 10 entries ≈ 2.3 %; 35 % is > 5 SD of a single entry (false-fail < 1e-6).
  const double se_mean = core::upper_triangle(top.posterior_mean_se).mean();
  EXPECT_NEAR(se_mean, s / 10.0, 0.35 * s / 10.0);
  // (ii) the one-loop truth, 2 layers × 2 quantities = 4 Hotelling tests: the batch means
  // are exactly normal, so each p-value is uniform and p ≥ kFamilyAlpha / 4 fails with
  // probability kFamilyAlpha / 4.
  const double p_min = kFamilyAlpha / 4.0;
  // (iv) ΔC_MC = E_post − E_prior ≈ δC: N·⟨ΔC, yyᵀ⟩/‖y‖² within 5 SE; its SE is from
  // J·C = 100 batch means (t₉₉: two-sided false-fail 2.4e-6 per layer).
  const double t_adaptation = testing::t_tolerance(4 * J, 2.4e-6);
  for (const LayerValidation& l : w.layers) {
    for (const TheoryComparison& tc : l.comparisons) {
      if (tc.theory == "one_loop") {
        EXPECT_TRUE(tc.test_defined);
        EXPECT_GE(tc.p_value, p_min) << "layer " << l.layer << " " << tc.quantity;
      }
      if (tc.theory == "nngp" && tc.quantity == "posterior_mean") {
        // (iii) twin of the posterior-mean tests: the largest expected |z| is
        // max|μ + δC|/(s/10) (> 10 here); the noise moves the measured one by O(1) and the
        // SE estimate by ≲ 35 % (above): at least half, and the Hotelling p far below p_min.
        const double expected =
            (truth.posterior_mean.layer(l.layer) - truth.nngp.layer(l.layer)).cwiseAbs().maxCoeff() / (s / 10.0);
        ASSERT_GT(expected, 10.0) << "layer " << l.layer;
        EXPECT_LT(tc.p_value, p_min) << "layer " << l.layer;
        EXPECT_GT(tc.max_abs_z, 0.5 * expected) << "layer " << l.layer;
      }
    }
    const TheoryComparison* one_loop_adaptation = nullptr;
    for (const TheoryComparison& tc : l.comparisons)
      if (tc.theory == "one_loop" && tc.quantity == "adaptation") one_loop_adaptation = &tc;
    ASSERT_NE(one_loop_adaptation, nullptr);
    EXPECT_TRUE(testing::WithinStandardErrors(l.target_adaptation, one_loop_adaptation->target_adaptation,
                                              l.target_adaptation_se, t_adaptation));
    // Twin of the adaptation tests: no adaptation (the NNGP's ΔC = 0) is rejected.
    EXPECT_FALSE(testing::WithinStandardErrors(l.target_adaptation, 0.0, l.target_adaptation_se, t_adaptation))
        << "layer " << l.layer;
  }
}

// A short Config B study end to end: the one-loop theory is consistent with the posterior
// mean at the largest width that passed the ESS/R̂ gate (2 Hotelling tests, p ≥
// kFamilyAlpha / 2; ASYM: the O(1/N²) remainder at N ≤ 32 is below the noise of 4 × 300
// draws, THEORY.md §8.1). The gate itself is sized to pass (tiny_config) but its failure
// rate is not quantified, so it is required only at one width of three (seed 1 of the
// 20-seed rerun failed it at one width); a width that fails it is not compared. The power of these tests is shown by
// the synthetic twin above: the tiny study's chains are too short to reject the NNGP
// kernel alone at this rate (with the default seed no layer's p fell below 5e-5 at N = 8).
TEST(ValidationStudyStatistical, TinyConfigBStudyPassesTheGateAndFindsOneLoopConsistent) {
  const core::Config c = tiny_config(testing::test_seed(11));
  const core::Dataset data = core::make_dataset(c.data, c.run.seed);
  SilentObserver silent;
  const ValidationResult r = analyze_records(compute_records(c, data, study_units(c), silent), data, silent);
  const WidthValidation* largest = nullptr;
  for (const WidthValidation& w : r.widths) {
    if (w.gate.passed) largest = &w;
    else std::cout << "[ gate ] N = " << w.width << " not compared: " << w.gate.advice << "\n";
  }
  ASSERT_NE(largest, nullptr) << "no width passed the convergence gate";
  for (const LayerValidation& l : largest->layers) {
    for (const TheoryComparison& tc : l.comparisons) {
      if (tc.theory == "one_loop" && tc.quantity == "posterior_mean") {
        EXPECT_GE(tc.p_value, kFamilyAlpha / 2.0) << "N = " << largest->width << " layer " << l.layer;
      }
    }
  }
}

}  // namespace
}  // namespace kernelmc::validation
