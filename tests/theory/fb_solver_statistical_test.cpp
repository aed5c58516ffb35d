// Monte Carlo checks of the importance-sampling FB solver (THEORY.md §4.4 item 4, §4.5, V10):
// agreement with the linear closed form and with the deterministic quadrature solver
// within the reported standard errors (batch re-solves), each with a twin that must fail,
// the honesty of those standard errors over independent seeds, and bit-identical results
// for any thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "core/dataset_generators.hpp"
#include "core/model_spec.hpp"
#include "support/statistical.hpp"
#include "theory/fb_solver.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

core::Dataset linear_task() {
  core::Dataset data = core::config_b_dataset();
  data.targets.col(0) << 1.0, 0.5, -1.0, -0.3;
  return data;
}

// Largest |a − b| / error over the upper triangles of layers 2..L+1.
double worst_z(const FbSolution& a, const core::KernelStack& b, const core::KernelStack& error) {
  double worst = 0.0;
  for (Eigen::Index l = 2; l <= a.kernels.top_layer(); ++l)
    for (Eigen::Index i = 0; i < 4; ++i)
      for (Eigen::Index j = i; j < 4; ++j)
        worst = std::max(worst, std::abs(a.kernels.layer(l)(i, j) - b.layer(l)(i, j)) / error.layer(l)(i, j));
  return worst;
}

core::KernelStack sum(const core::KernelStack& a, const core::KernelStack& b) {
  core::KernelStack out = a;
  for (Eigen::Index l = 1; l <= a.top_layer(); ++l) out.layer(l) += b.layer(l);
  return out;
}

// The solution's importance-sampling SE comes from kImportanceBatches = 20 batch re-solves,
// so (estimate − truth)/SE is t with 19 degrees of freedom: the bound is the t₁₉ quantile
// Bonferroni over the 20 compared entries (2 layers × 10) at family-wise false-fail 1e-4
// (t ≈ 6.28; a 4.5 bound would fail 4.9e-3 of the time).
constexpr double kFamilyAlpha = 1e-4;
const double kBound = testing::t_tolerance(core::kImportanceBatches, kFamilyAlpha, 20);

TEST(FbSolverStatistical, ImportanceSamplingMatchesLinearClosedFormWithinStandardErrors) {
  // V10, bound kBound (above): once for each exact_first_order setting, so this test's
  // false-fail rate is 2e-4.
  const core::ModelSpec spec = core::uniform_model(3, 2, 50, Activation::linear, 1.3, 0.0, 0.7);
  const core::Dataset data = linear_task();
  const FbSolution exact = solve_fb(spec, data, {.method = TiltMethod::linear_closed_form});
  // Twin: the closed form of a network 30 % wider (N = 65; the O(1/N) terms differ by
  // 1/50 − 1/65 = 4.6e-3). A 10 % wider twin (N = 55) sat only ≈ 6–7 SE away, too close to
  // the t bound: KERNELMC_TEST_SEED=1 put it at 6.08 < 6.28.
  core::ModelSpec wider = spec;
  wider.widths = {65, 65};
  const FbSolution wrong = solve_fb(wider, data, {.method = TiltMethod::linear_closed_form});
  for (bool exact_first_order : {true, false}) {
    const FbSolution is = solve_fb(spec, data,
                                   {.method = TiltMethod::importance_sampling, .importance_samples = 40000,
                                    .seed = testing::test_seed(17), .exact_first_order = exact_first_order});
    const double z = worst_z(is, exact.kernels, is.kernel_errors);
    EXPECT_LT(z, kBound) << "exact_first_order " << exact_first_order;
    RecordProperty(std::string("worst_z_") + (exact_first_order ? "exact_first_order" : "plain"), std::to_string(z));
    // Twin that must fail: the wider network above.
    EXPECT_GT(worst_z(is, wrong.kernels, is.kernel_errors), kBound) << "exact_first_order " << exact_first_order;
    for (Eigen::Index l = 2; l <= 3; ++l)
      EXPECT_GT(is.effective_sample_size[static_cast<std::size_t>(l - 1)], 0.5 * 40000);
  }
}

TEST(FbSolverStatistical, ImportanceSamplingMatchesQuadratureOnConfigB) {
  // Config B (erf) at N = 50: IS (S = 4e4) vs the 16-node quadrature solver; the bound is
  // kBound (t₁₉, 20 entries, family-wise 1e-4) times the IS SE plus the quadrature's own
  // error estimate.
  const core::ModelSpec spec = core::uniform_model(3, 2, 50, Activation::erf, 2.0, 0.0, 1.0);
  const core::Dataset data = core::config_b_dataset();
  const FbSolution quadrature = solve_fb(spec, data, {.quadrature_nodes = 16});
  const FbSolution is = solve_fb(spec, data,
                                 {.method = TiltMethod::importance_sampling, .importance_samples = 40000, .seed = testing::test_seed(3)});
  const core::KernelStack bound_error = sum(is.kernel_errors, quadrature.kernel_errors);
  const double z = worst_z(is, quadrature.kernels, bound_error);
  EXPECT_LT(z, kBound);
  RecordProperty("worst_z", std::to_string(z));
  // Twin that must fail: quadrature at N = 40 (1/40 − 1/50 = 5e-3; N = 45 gave half that,
  // too close to the t bound).
  const FbSolution wrong =
      solve_fb(core::uniform_model(3, 2, 40, Activation::erf, 2.0, 0.0, 1.0), data, {.quadrature_nodes = 16});
  EXPECT_GT(worst_z(is, wrong.kernels, bound_error), kBound);
}

TEST(FbSolverStatistical, KernelErrorsMatchSpreadOverSeeds) {
  // The honesty of kernel_errors (the batch re-solves, warm-started at the solution and
  // stopped at a residual 1e-4 of their first sweep's): R = 40 independent seeds of the
  // importance-sampling solve (S = 2000, exact_first_order off as at large P, so that the
  // draws carry the whole tilt-induced change and the SE is far above the quadrature
  // truth's own error) on Config B at N = 50, against the 16-node quadrature solution as
  // truth. With 20-batch SEs, z = (C_IS − C_truth)/SE is ≈ t₁₉, so z² ~ F(1, 19) and the
  // mean of 40 of them lies in [0.35, 2.8] but for 5e-5 per quantity (the band of
  // TiltedExpectationsStatistical.StandardErrorsMatchSpreadOverSeeds, from
  // tests/support/false_fail/mean_of_f_1_19.cpp); two quantities, C^(2)_01 and C^(3)_01, so
  // this test's false-fail rate is 1e-4. Power: an SE twice too large fails with
  // probability 0.85, half the truth with 0.96 (same law).
  const core::ModelSpec spec = core::uniform_model(3, 2, 50, Activation::erf, 2.0, 0.0, 1.0);
  const core::Dataset data = core::config_b_dataset();
  const FbSolution truth = solve_fb(spec, data, {.quadrature_nodes = 16});
  // Twin that must fail: the truth of a network half as wide (N = 25, twice the adaptation),
  // which the same SEs must tell apart (mean z² far above the band).
  const FbSolution wrong =
      solve_fb(core::uniform_model(3, 2, 25, Activation::erf, 2.0, 0.0, 1.0), data, {.quadrature_nodes = 16});
  const int R = 40;
  double sum_z2[2] = {0.0, 0.0}, sum_z2_wrong[2] = {0.0, 0.0};
  double smallest_se = INFINITY;
  for (int r = 0; r < R; ++r) {
    const FbSolution is = solve_fb(spec, data,
                                   {.method = TiltMethod::importance_sampling, .importance_samples = 2000,
                                    .seed = testing::test_seed(2000 + static_cast<std::uint64_t>(r)),
                                    .exact_first_order = false});
    for (Eigen::Index l = 2; l <= 3; ++l) {
      const double se = is.kernel_errors.layer(l)(0, 1);
      smallest_se = std::min(smallest_se, se);
      sum_z2[l - 2] += std::pow((is.kernels.layer(l)(0, 1) - truth.kernels.layer(l)(0, 1)) / se, 2);
      sum_z2_wrong[l - 2] += std::pow((is.kernels.layer(l)(0, 1) - wrong.kernels.layer(l)(0, 1)) / se, 2);
    }
  }
  // the truth's own (quadrature) error must be negligible against the SEs
  ASSERT_LT(std::max(truth.kernel_errors.layer(2)(0, 1), truth.kernel_errors.layer(3)(0, 1)), 0.01 * smallest_se);
  for (int k = 0; k < 2; ++k) {
    const double mean_z2 = sum_z2[k] / R, mean_z2_wrong = sum_z2_wrong[k] / R;
    RecordProperty("mean_z2_layer_" + std::to_string(k + 2), std::to_string(mean_z2));
    RecordProperty("twin_mean_z2_layer_" + std::to_string(k + 2), std::to_string(mean_z2_wrong));
    EXPECT_GT(mean_z2, 0.35) << "layer " << k + 2;
    EXPECT_LT(mean_z2, 2.8) << "layer " << k + 2;
    EXPECT_GT(mean_z2_wrong, 2.8) << "layer " << k + 2;
  }
}

TEST(FbSolverStatistical, ImportanceSamplingIsBitIdenticalForAnyThreadCount) {
  const core::ModelSpec spec = core::uniform_model(3, 2, 50, Activation::erf, 2.0, 0.0, 1.0);
  const core::Dataset data = core::config_b_dataset();
  const FbSettings settings{.method = TiltMethod::importance_sampling, .importance_samples = 4000, .seed = kernelmc::testing::test_seed(9)};
  const int previous = omp_get_max_threads();
  omp_set_num_threads(1);
  const FbSolution one = solve_fb(spec, data, settings);
  omp_set_num_threads(2);
  const FbSolution two = solve_fb(spec, data, settings);
  omp_set_num_threads(previous);
  for (Eigen::Index l = 1; l <= 3; ++l) {
    EXPECT_EQ(one.kernels.layer(l), two.kernels.layer(l));
    EXPECT_EQ(one.kernel_errors.layer(l), two.kernel_errors.layer(l));
    EXPECT_EQ(one.tilts.layer(l), two.tilts.layer(l));
  }
}

}  // namespace
}  // namespace kernelmc::theory
