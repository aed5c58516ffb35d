#include "sampling/accumulators.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.hpp"

namespace kernelmc::sampling {
namespace {

// n draws of a dim-vector with mean `offset` and a non-diagonal covariance, one per column.
Eigen::MatrixXd correlated_draws(Eigen::Index dim, Eigen::Index n, double offset) {
  core::Engine engine = core::make_stream(7, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd Z = core::standard_normal_matrix(engine, dim, n);
  Eigen::MatrixXd mix = Eigen::MatrixXd::Identity(dim, dim);
  for (Eigen::Index i = 1; i < dim; ++i) mix(i, i - 1) = 0.7;
  return (mix * Z).array() + offset;
}

// Two-pass reference: mean first, then the centred sums.
struct TwoPass {
  Eigen::VectorXd mean;
  Eigen::MatrixXd covariance;
};
TwoPass two_pass(const Eigen::MatrixXd& columns) {
  TwoPass out;
  out.mean = columns.rowwise().mean();
  const Eigen::MatrixXd centred = columns.colwise() - out.mean;
  out.covariance = centred * centred.transpose() / static_cast<double>(columns.cols() - 1);
  return out;
}

double max_relative(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return (a - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff();
}

TEST(MeanCovarianceAccumulator, WelfordMatchesTwoPassEvenWithLargeOffset) {
  const Eigen::MatrixXd x = correlated_draws(5, 2000, 1e3);
  MeanCovarianceAccumulator acc(5);
  for (Eigen::Index j = 0; j < x.cols(); ++j) acc.add(x.col(j));
  const TwoPass ref = two_pass(x);
  EXPECT_EQ(acc.count(), 2000);
  // Rounding only: Welford's relative error in the covariance is O(ε·|mean|/sd) per update
  // ≈ 1e-13 at offset 1e3 (a naive Σx² − n·mean² would lose ≈ 6 digits here); tolerance 1e-10.
  EXPECT_LT(max_relative(acc.mean(), ref.mean), 1e-12);
  EXPECT_LT(max_relative(acc.covariance(), ref.covariance), 1e-10);
  EXPECT_LT(max_relative(acc.variance(), ref.covariance.diagonal()), 1e-10);
}

TEST(MeanCovarianceAccumulator, MergeOfSplitsEqualsTheWhole) {
  const Eigen::MatrixXd x = correlated_draws(4, 1000, 2.0);
  MeanCovarianceAccumulator whole(4), a(4), b(4), c(4);
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    whole.add(x.col(j));
    (j < 17 ? a : j < 600 ? b : c).add(x.col(j));
  }
  a.merge(b);
  a.merge(c);
  EXPECT_EQ(a.count(), whole.count());
  // Chan et al. merging is exact in exact arithmetic; rounding only (tolerance 1e-12).
  EXPECT_LT(max_relative(a.mean(), whole.mean()), 1e-12);
  EXPECT_LT(max_relative(a.covariance(), whole.covariance()), 1e-12);
  EXPECT_LT(max_relative(a.variance(), whole.variance()), 1e-12);
}

TEST(MeanCovarianceAccumulator, AddBatchEqualsRepeatedAdd) {
  const Eigen::MatrixXd x = correlated_draws(6, 300, -1.5);
  MeanCovarianceAccumulator one_by_one(6), batched(6);
  for (Eigen::Index j = 0; j < x.cols(); ++j) one_by_one.add(x.col(j));
  batched.add_batch(x.leftCols(64));
  batched.add_batch(x.middleCols(64, 1));
  batched.add_batch(x.middleCols(65, 0));
  batched.add_batch(x.rightCols(235));
  EXPECT_EQ(batched.count(), 300);
  // Rounding only (tolerance 1e-12).
  EXPECT_LT(max_relative(batched.mean(), one_by_one.mean()), 1e-12);
  EXPECT_LT(max_relative(batched.covariance(), one_by_one.covariance()), 1e-12);
  // The batch comoment is built in the lower triangle and mirrored: exactly symmetric.
  EXPECT_TRUE(batched.covariance().isApprox(batched.covariance().transpose(), 0.0));
}

TEST(MeanCovarianceAccumulator, VarianceAndCovarianceAreNaNBelowTwoObservations) {
  MeanCovarianceAccumulator acc(3);
  EXPECT_TRUE(acc.variance().array().isNaN().all());
  EXPECT_TRUE(acc.covariance().array().isNaN().all());
  acc.add(Eigen::Vector3d(1.0, 2.0, 3.0));
  EXPECT_TRUE(acc.variance().array().isNaN().all());
  EXPECT_TRUE(acc.covariance().array().isNaN().all());
  EXPECT_EQ(acc.mean(), Eigen::Vector3d(1.0, 2.0, 3.0));
  acc.add(Eigen::Vector3d(3.0, 2.0, 1.0));
  EXPECT_EQ(acc.variance(), Eigen::Vector3d(2.0, 0.0, 2.0));
  EXPECT_EQ(acc.covariance()(0, 2), -2.0);
}

TEST(MeanCovarianceAccumulator, WithoutCovarianceKeepsMeansAndVariances) {
  const Eigen::MatrixXd x = correlated_draws(3, 200, 0.5);
  MeanCovarianceAccumulator full(3), light(3, /*track_covariance=*/false);
  full.add_batch(x);
  light.add_batch(x.leftCols(50));
  light.add_batch(x.rightCols(150));
  EXPECT_FALSE(light.tracks_covariance());
  // Rounding only (tolerance 1e-12).
  EXPECT_LT(max_relative(light.mean(), full.mean()), 1e-12);
  EXPECT_LT(max_relative(light.variance(), full.covariance().diagonal()), 1e-12);
}

TEST(MeanCovarianceAccumulator, MergingIntoAnEmptyAccumulatorCopiesTheOther) {
  const Eigen::MatrixXd x = correlated_draws(2, 10, 0.0);
  MeanCovarianceAccumulator source(2), empty, sized_empty(2);
  source.add_batch(x);
  empty.merge(source);
  sized_empty.merge(source);
  EXPECT_TRUE(empty == source);
  EXPECT_TRUE(sized_empty == source);
  source.merge(MeanCovarianceAccumulator(2));
  EXPECT_TRUE(empty == source);
}

TEST(MeanCovarianceAccumulator, EqualityIsSafeForDifferentDimensions) {
  MeanCovarianceAccumulator none, two(2), three(3), two_light(2, false);
  EXPECT_FALSE(none == two);
  EXPECT_FALSE(two == three);
  EXPECT_FALSE(two == two_light);
  EXPECT_TRUE(two == MeanCovarianceAccumulator(2));
  MeanCovarianceAccumulator other(2);
  other.add(Eigen::Vector2d(1.0, 0.0));
  EXPECT_FALSE(two == other);
}

}  // namespace
}  // namespace kernelmc::sampling
