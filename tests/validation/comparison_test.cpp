#include "validation/comparison.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace kv = kernelmc::validation;

TEST(Comparison, JackknifeOfTheMeanEqualsTheClassicalStandardError) {
  // For the sample mean, the leave-one-out jackknife SE equals s/√B exactly (Efron & Stein).
  const std::vector<double> x = {1.0, 2.5, -0.3, 4.1, 0.7, 2.2};
  const double B = static_cast<double>(x.size());
  double sum = 0;
  for (double v : x) sum += v;
  std::vector<double> loo;
  for (double v : x) loo.push_back((sum - v) / (B - 1));
  const double mean = sum / B;
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  const double classical = std::sqrt(ss / (B - 1) / B);
  // Deterministic identity; tolerance is rounding.
  EXPECT_NEAR(kv::jackknife_standard_error(loo), classical, 1e-13);
}

TEST(Comparison, ChiSquareWithIdentityCovarianceIsTheSumOfSquares) {
  Eigen::VectorXd e(3);
  e << 1.0, -2.0, 0.5;
  const auto t = kv::chi_square_test(e, Eigen::MatrixXd::Identity(3, 3));
  EXPECT_NEAR(t.statistic, 5.25, 1e-12);
  EXPECT_EQ(t.dof, 3.0);
  // Upper tail of χ²_3 at 5.25 (R: pchisq(5.25, 3, lower.tail = FALSE) = 0.1543...).
  EXPECT_NEAR(t.p_value, 0.15429, 1e-4);
}

TEST(Comparison, ChiSquareDropsExactlyDependentDirections) {
  // Covariance of rank 1: only the component along (1, 1) counts.
  Eigen::MatrixXd cov(2, 2);
  cov << 1.0, 1.0, 1.0, 1.0;
  Eigen::VectorXd e(2);
  e << 1.0, 1.0;
  const auto t = kv::chi_square_test(e, cov);
  EXPECT_EQ(t.dof, 1.0);
  EXPECT_NEAR(t.statistic, 1.0, 1e-12);  // (e·u)²/λ with u = (1,1)/√2, λ = 2
}

TEST(Comparison, ExcessIsZeroWhenTheDifferenceIsBelowTheNoise) {
  Eigen::MatrixXd est(1, 2), pred(1, 2), se(1, 2), mask(1, 2);
  est << 1.01, 2.0;
  pred << 1.0, 2.0;
  se << 0.1, 0.1;
  mask << 1, 1;
  const std::vector<Eigen::MatrixXd> loo = {est, est, pred};
  const auto d = kv::compare(est, pred, se, Eigen::MatrixXd::Zero(1, 2), loo, mask);
  EXPECT_NEAR(d.frobenius, 0.01, 1e-12);
  EXPECT_EQ(d.excess_frobenius, 0.0);
  EXPECT_NEAR(d.max_abs_z, 0.1, 1e-12);
  EXPECT_EQ(d.entries, 2);
}

TEST(Comparison, BonferroniThresholdMatchesTheNormalQuantile) {
  // Φ⁻¹(1 − 0.01/2) = 2.5758; with 10 comparisons Φ⁻¹(1 − 0.0005) = 3.2905.
  EXPECT_NEAR(kv::bonferroni_z(0.01, 1), 2.5758293, 1e-6);
  EXPECT_NEAR(kv::bonferroni_z(0.01, 10), 3.2905267, 1e-6);
}
