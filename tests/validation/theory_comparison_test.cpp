// Tests of validation/theory_comparison.cpp's decision where the Hotelling test is undefined
// (fewer degrees of freedom than entries): Student-t Bonferroni thresholds, and the
// difference along the target (half the false-alarm rate), which resolves a discrepancy
// spread thinly over many entries.
#include "validation/theory_comparison.hpp"

#include <gtest/gtest.h>

#include <boost/math/distributions/students_t.hpp>
#include <cmath>

#include "core/kernel_stack.hpp"
#include "core/rng.hpp"
#include "validation/comparison.hpp"

namespace kernelmc::validation {
namespace {

TEST(TheoryComparison, BonferroniThresholdIsStudentTOnTheEstimatesDegreesOfFreedom) {
  // t_19 quantile at 0.01/(2·37) against the normal one, and the normal limit (closed forms
  // of Boost.Math; rounding 1e-12).
  const boost::math::students_t t19(19.0);
  EXPECT_NEAR(bonferroni_t(0.01, 37, 19), boost::math::quantile(boost::math::complement(t19, 0.01 / 74.0)), 1e-12);
  EXPECT_GT(bonferroni_t(0.01, 37, 19), bonferroni_z(0.01, 37) + 0.5);  // 4.46 against 3.64
  EXPECT_NEAR(bonferroni_t(0.01, 37, 100000000), bonferroni_z(0.01, 37), 1e-6);
  EXPECT_EQ(bonferroni_t(0.01, 37, 0), bonferroni_z(0.01, 37));
}

// An estimate of P = 8 kernel entries (K = 36) from 20 replicates (19 dof < K: no Hotelling
// test), unit covariance, against a prediction that misses by `size` SEs along the target
// direction u, spread over every entry (at size 12 no entry's z exceeds 2.2).
TheoryComparison miss_along_target(double size) {
  core::Engine engine = core::make_stream(5, core::StreamPurpose::test, 0, 0);
  // ±1 labels: the target direction spreads over all entries (|u_k|/‖u‖ ≤ 0.19).
  const Eigen::MatrixXd Y = core::standard_normal_matrix(engine, 8, 1).array().sign().matrix();
  const Eigen::VectorXd u = target_functional(Y);
  Estimate estimate;
  estimate.entries = core::upper_triangle(core::standard_normal_matrix(engine, 8, 8).cwiseAbs());
  estimate.covariance = Eigen::MatrixXd::Identity(36, 36);
  estimate.dof = 19;
  Prediction prediction;
  prediction.theory = "nngp";
  prediction.quantity = "adaptation";
  prediction.value = core::from_upper_triangle(estimate.entries - size * u / u.norm(), 8);
  prediction.standard_error = Eigen::MatrixXd::Zero(8, 8);
  return compare_prediction(estimate, prediction, 0.01, 1.0, Y);
}

TEST(TheoryComparison, AMissAlongTheTargetIsResolvedWhereNoEntryIs) {
  const TheoryComparison big = miss_along_target(12.0);
  EXPECT_FALSE(big.test_defined);
  EXPECT_NEAR(big.target_z, 12.0, 1e-9);
  EXPECT_LT(big.max_abs_z, big.bonferroni_z) << "every entry alone is within its threshold";
  // α/2 for the projection alone and α/2 over the 36 entries (t_19 quantiles).
  EXPECT_NEAR(big.target_threshold, bonferroni_t(0.005, 1, 19), 1e-12);
  EXPECT_NEAR(big.bonferroni_z, bonferroni_t(0.005, 36, 19), 1e-12);
  EXPECT_FALSE(big.consistent) << "the projection resolves the miss";
  // Twin: a miss of one SE along the target is consistent.
  const TheoryComparison small = miss_along_target(1.0);
  EXPECT_NEAR(small.target_z, 1.0, 1e-9);
  EXPECT_TRUE(small.consistent);
}

}  // namespace
}  // namespace kernelmc::validation
