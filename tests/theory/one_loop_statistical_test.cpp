#include <gtest/gtest.h>

#include <string>

#include "core/dataset_generators.hpp"
#include "support/statistical.hpp"
#include "theory/four_point.hpp"
#include "theory/one_loop.hpp"
#include "theory/prior_moments.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

// Config B (THEORY.md §8.1) at N = 1: every O(1/N) quantity comes out as N times it.
core::ModelSpec config_b_spec() { return core::uniform_model(3, 2, 1, Activation::erf, 2.0, 0.0, 1.0); }

TEST(OneLoopStatistical, MonteCarloAdaptationAgreesWithQuadratureWithinStandardErrors) {
  // δC^(2), δC^(3) and μ^(3) with Monte Carlo 4-point functions (S = 10⁶ draws per layer, the
  // default, 100 batch replicates) against the exact quadrature values. k = 30 upper-triangle
  // entries compared; z = the t₉₉ quantile (SE from the 100 batch replicates, its own
  // relative error ≈ 7 %: four_point.hpp), Bonferroni for a family-wise false-fail rate of
  // 1e-4 over the 30 entries (≈ 4.93).
  const core::Dataset data = core::config_b_dataset();
  core::TheorySettings mc;
  mc.four_point = core::FourPointMethod::monte_carlo;
  const OneLoopPrediction exact = one_loop_prediction(config_b_spec(), data, core::TheorySettings{}, 1);
  const OneLoopPrediction estimate = one_loop_prediction(config_b_spec(), data, mc, kernelmc::testing::test_seed(20240601));
  ASSERT_EQ(exact.method_used, core::FourPointMethod::quadrature);
  ASSERT_EQ(estimate.method_used, core::FourPointMethod::monte_carlo);
  const double z = testing::t_tolerance(kFourPointBatches, 1e-4, 30);
  // Must-fail twin: the factor-2 pitfall of THEORY.md §9.1 (the off-diagonal gradient halved,
  // as an upper-triangle gradient would give) must be rejected by at least one entry of δC^(3).
  const Eigen::MatrixXd& G = exact.tilts.layer(3);  // N C̃^(3) = ∂ℓ/∂C^(3) at N = 1
  Eigen::MatrixXd halved = 0.5 * G;
  halved.diagonal() = G.diagonal();
  const core::KernelStack wrong = explicit_first_order_adaptation(
      prior_moments(config_b_spec(), data.inputs, core::TheorySettings{}, 1).covariance,
      jacobian_operators(config_b_spec(), exact.nngp, 1e-10), halved);
  int rejected = 0;
  for (Eigen::Index a = 0; a < 4; ++a)
    for (Eigen::Index b = a; b < 4; ++b) {
      for (Eigen::Index l = 2; l <= 3; ++l)
        EXPECT_TRUE(testing::WithinStandardErrors(estimate.adaptation.layer(l)(a, b), exact.adaptation.layer(l)(a, b),
                                                  estimate.adaptation_standard_error.layer(l)(a, b), z))
            << "δC^(" << l << ") (" << a << ", " << b << ")";
      EXPECT_TRUE(testing::WithinStandardErrors(estimate.mean_shift.layer(3)(a, b), exact.mean_shift.layer(3)(a, b),
                                                estimate.mean_shift_standard_error.layer(3)(a, b), z))
          << "μ^(3) (" << a << ", " << b << ")";
      if (!testing::WithinStandardErrors(estimate.adaptation.layer(3)(a, b), wrong.layer(3)(a, b),
                                         estimate.adaptation_standard_error.layer(3)(a, b), z))
        ++rejected;
    }
  EXPECT_GT(rejected, 0) << "the deliberately wrong (factor-2) adaptation was not detected";
}

}  // namespace
}  // namespace kernelmc::theory
