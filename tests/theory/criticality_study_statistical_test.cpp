// The criticality study's Monte Carlo columns (theory/criticality_study.hpp) against an
// exact value, within their reported standard errors.
#include <gtest/gtest.h>

#include <cmath>

#include "support/statistical.hpp"
#include "theory/criticality_study.hpp"
#include "theory/four_point.hpp"

namespace kernelmc::theory {
namespace {

TEST(CriticalityStudyStatistical, MonteCarloNormalizedVarianceMatchesTheExactReluValue) {
  // THEORY.md §3.3: one ReLU layer on a single input, exact E[X²]/E[X]² = 1 + 5/N, so the
  // N-scaled normalised variance is 5. ReLU takes Monte Carlo 4-point functions (S = 2·10⁵);
  // the SE comes from their kFourPointBatches = 100 batch replicates, so the bound is the
  // t₉₉ quantile at false-fail 1e-4 (≈ 4.06); twin: the value 5.5 (a 10 % error) is rejected.
  core::TheorySettings settings;
  settings.four_point_samples = 200000;
  const core::ModelSpec spec = core::uniform_model(1, 2, 1, core::Activation::relu, 2.0, 0.0, 1.0);
  const core::Dataset single{Eigen::MatrixXd::Constant(1, 1, std::sqrt(0.5)), Eigen::MatrixXd::Ones(1, 1), "single"};
  const CriticalityRow row = criticality_row(spec, single, 2.0, 1.0, 0.0, settings, testing::test_seed(3));
  const CriticalityLayer& first = row.layers.front();
  const double t = testing::t_tolerance(kFourPointBatches, 1e-4);
  EXPECT_TRUE(testing::WithinStandardErrors(first.scaled_normalized_variance, 5.0, first.scaled_normalized_variance_se, t));
  EXPECT_FALSE(testing::WithinStandardErrors(first.scaled_normalized_variance, 5.5, first.scaled_normalized_variance_se, t));
}

}  // namespace
}  // namespace kernelmc::theory
