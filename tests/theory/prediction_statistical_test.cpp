#include <gtest/gtest.h>

#include "core/dataset_generators.hpp"
#include "support/statistical.hpp"
#include "theory/four_point.hpp"
#include "theory/prediction.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

TEST(PredictionStatistical, MonteCarloOneLoopPredictionAgreesWithQuadratureWithinStandardErrors) {
  // The gradient/Hessian route with Monte Carlo 4-point functions (S = 10⁶ per layer, 100
  // batch replicates) against the same route with exact quadrature, Config B at N = 1 (so
  // the corrections are N times theirs), two test points: k = 4 comparisons (mean and
  // variance), z = the t₉₉ quantile (100 batch replicates), Bonferroni for a family-wise
  // false-fail rate of 1e-4 over the 4 (≈ 4.42). The SE is
  // the replicates' spread plus an upper bound for μ's share (prediction.hpp), so the test
  // is conservative. Must-fail twin: the prediction without ½Σ:∇²m (and ½Σ:∇²v) must be
  // rejected.
  const core::Dataset data = core::config_b_dataset();
  const Eigen::MatrixXd tests = (Eigen::MatrixXd(2, 3) << 0.5, -1.0, 1.0, -0.3, 0.8, 1.0).finished();
  const core::ModelSpec spec = core::uniform_model(3, 2, 1, Activation::erf, 2.0, 0.0, 1.0);
  core::TheorySettings mc;
  mc.four_point = core::FourPointMethod::monte_carlo;
  const OneLoopGpPrediction exact = one_loop_gp_prediction(spec, data, tests, core::TheorySettings{}, 1);
  const OneLoopGpPrediction estimate = one_loop_gp_prediction(spec, data, tests, mc, kernelmc::testing::test_seed(20240602));
  ASSERT_EQ(exact.method_used, core::FourPointMethod::quadrature);
  ASSERT_EQ(estimate.method_used, core::FourPointMethod::monte_carlo);
  const double z = testing::t_tolerance(kFourPointBatches, 1e-4, 4);
  int rejected = 0;
  for (Eigen::Index t = 0; t < 2; ++t) {
    EXPECT_TRUE(testing::WithinStandardErrors(estimate.mean(t, 0), exact.mean(t, 0), estimate.mean_standard_error(t, 0), z))
        << "mean at test point " << t;
    EXPECT_TRUE(testing::WithinStandardErrors(estimate.variance(t, 0), exact.variance(t, 0),
                                              estimate.variance_standard_error(t, 0), z))
        << "variance at test point " << t;
    const double flat_mean = exact.mean(t, 0) - exact.terms.mean_curvature(t, 0);
    const double flat_variance = exact.variance(t, 0) - exact.terms.variance_curvature(t);
    rejected += !testing::WithinStandardErrors(estimate.mean(t, 0), flat_mean, estimate.mean_standard_error(t, 0), z);
    rejected += !testing::WithinStandardErrors(estimate.variance(t, 0), flat_variance,
                                               estimate.variance_standard_error(t, 0), z);
  }
  EXPECT_GT(rejected, 0) << "the prediction without the curvature terms was not detected";
}

}  // namespace
}  // namespace kernelmc::theory
