// Statistical tests of core/rng.cpp: the normal and uniform draws have the moments of
// their laws, and streams with different ids are uncorrelated. M = 200000 draws per
// check keeps the whole file under 0.1 s.
#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.hpp"
#include "support/statistical.hpp"

namespace kernelmc::core {
namespace {

using kernelmc::testing::WithinStandardErrors;

constexpr Eigen::Index kDraws = 200000;

struct Moments {
  double mean, mean_se, variance, variance_se;
};

// Sample mean and variance with their standard errors, estimated from the same draws
// (SE of the variance from the fourth central moment: √((m₄ − s⁴)/M)).
Moments moments(const Eigen::VectorXd& x) {
  const double M = static_cast<double>(x.size());
  const double mean = x.mean();
  const Eigen::ArrayXd centred = x.array() - mean;
  const double variance = centred.square().sum() / (M - 1);
  const double m4 = centred.pow(4).mean();
  return {mean, std::sqrt(variance / M), variance, std::sqrt((m4 - variance * variance) / M)};
}

TEST(FillStandardNormal, MeanZeroAndVarianceOne) {
  Engine engine = make_stream(kernelmc::testing::test_seed(20240521), StreamPurpose::test, 0, 0);
  const Eigen::VectorXd x = standard_normal_matrix(engine, kDraws, 1).col(0);
  const Moments m = moments(x);
  // 5 standard errors (two-sided false-fail ≈ 6e-7 each) of mean and variance; SEs
  // estimated from the same draws.
  EXPECT_TRUE(WithinStandardErrors(m.mean, 0.0, m.mean_se, 5.0));
  EXPECT_TRUE(WithinStandardErrors(m.variance, 1.0, m.variance_se, 5.0));
}

TEST(FillStandardNormal, DetectsATwoPercentScaleError) {
  // The twin that must fail: the same check on draws scaled by 1.02 (variance 1.0404)
  // is ≈ 13 SE away from 1 at M = 200000, so the 5-SE test has the power to see it.
  Engine engine = make_stream(kernelmc::testing::test_seed(20240521), StreamPurpose::test, 0, 1);
  const Eigen::VectorXd x = 1.02 * standard_normal_matrix(engine, kDraws, 1).col(0);
  const Moments m = moments(x);
  EXPECT_FALSE(WithinStandardErrors(m.variance, 1.0, m.variance_se, 5.0));
}

TEST(Uniform01, MeanHalfAndVarianceOneTwelfth) {
  Engine engine = make_stream(kernelmc::testing::test_seed(20240521), StreamPurpose::test, 0, 2);
  Eigen::VectorXd x(kDraws);
  for (Eigen::Index i = 0; i < kDraws; ++i) x(i) = uniform01(engine);
  const Moments m = moments(x);
  // 5 standard errors, estimated from the same draws.
  EXPECT_TRUE(WithinStandardErrors(m.mean, 0.5, m.mean_se, 5.0));
  EXPECT_TRUE(WithinStandardErrors(m.variance, 1.0 / 12.0, m.variance_se, 5.0));
}

TEST(MakeStream, NeighbouringStreamsAreUncorrelated) {
  // Streams of networks m and m+1 (and of another purpose) must be independent: the
  // sample correlation of paired draws is N(0, 1/M) under independence; 5 SE.
  Engine a = make_stream(kernelmc::testing::test_seed(1), StreamPurpose::prior_network, 64, 0);
  const Eigen::VectorXd x = standard_normal_matrix(a, kDraws, 1).col(0);
  for (Engine b : {make_stream(kernelmc::testing::test_seed(1), StreamPurpose::prior_network, 64, 1),
                   make_stream(kernelmc::testing::test_seed(1), StreamPurpose::chain_init, 64, 0)}) {
    const Eigen::VectorXd y = standard_normal_matrix(b, kDraws, 1).col(0);
    const double M = static_cast<double>(kDraws);
    const Eigen::ArrayXd xc = x.array() - x.mean(), yc = y.array() - y.mean();
    const double correlation =
        (xc * yc).sum() / std::sqrt(xc.square().sum() * yc.square().sum());
    EXPECT_TRUE(WithinStandardErrors(correlation, 0.0, 1.0 / std::sqrt(M), 5.0));
  }
}

}  // namespace
}  // namespace kernelmc::core
