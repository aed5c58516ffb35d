#include <gtest/gtest.h>

#include <cmath>

#include "core/dataset_generators.hpp"
#include "support/statistical.hpp"
#include "theory/kernel_fixtures.hpp"
#include "theory/four_point.hpp"
#include "theory/prior_moments.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

// Config A at N = 1 (NΣ, Nμ). Monte Carlo with the default S = 10⁶ draws per layer
// (≈ 1 s for three layers) against the exact quadrature route.
using fixtures::config_a_spec;

PriorMoments run(core::FourPointMethod method, std::uint64_t seed, double g = 2.0) {
  core::TheorySettings settings;
  settings.four_point = method;
  return prior_moments(config_a_spec(g), core::config_a_dataset().inputs, settings, seed);
}

// Comparisons: layers 2..4, 21 distinct Σ entries and 6 μ entries each (81 in all; the
// structurally zero ones, e.g. μ^(2), have SE 0 and are compared exactly). The SEs come
// from kFourPointBatches = 100 batch replicates (99 degrees of freedom): the t₉₉ quantile,
// Bonferroni over the 81 entries at family-wise false-fail 1e-4 (≈ 5.17; 4.5 SE would fail
// 1.5e-3 of the time). The seed-to-seed test (21 entries, a difference of two such
// estimates, ≈ 198 degrees of freedom) uses the same, conservative, bound.
const double kZ = testing::t_tolerance(kFourPointBatches, 1e-4, 81);

TEST(PriorMomentsStatistical, MonteCarloMatchesQuadratureWithinStandardErrors) {
  const PriorMoments exact = run(core::FourPointMethod::quadrature, 1);
  const PriorMoments mc = run(core::FourPointMethod::monte_carlo, kernelmc::testing::test_seed(20240521));
  for (Eigen::Index l = 2; l <= 4; ++l) {
    const std::size_t i = static_cast<std::size_t>(l - 1);
    for (Eigen::Index r = 0; r < 6; ++r)
      for (Eigen::Index c = r; c < 6; ++c)
        EXPECT_TRUE(testing::WithinStandardErrors(mc.covariance[i](r, c), exact.covariance[i](r, c),
                                                  mc.covariance_standard_error[i](r, c), kZ))
            << "Sigma^(" << l << ") (" << r << ", " << c << ")";
    for (Eigen::Index a = 0; a < 3; ++a)
      for (Eigen::Index b = a; b < 3; ++b)
        EXPECT_TRUE(testing::WithinStandardErrors(mc.mean_shift.layer(l)(a, b), exact.mean_shift.layer(l)(a, b),
                                                  mc.mean_shift_standard_error.layer(l)(a, b), kZ))
            << "mu^(" << l << ") (" << a << ", " << b << ")";
  }
}

TEST(PriorMomentsStatistical, MonteCarloDetectsAWrongGain) {
  // Twin that must fail: the exact Σ^(4) of a network with g = 2.1 instead of 2 lies far
  // outside 4.5 SE of the Monte Carlo estimate for g = 2.
  const PriorMoments wrong = run(core::FourPointMethod::quadrature, 1, 2.1);
  const PriorMoments mc = run(core::FourPointMethod::monte_carlo, kernelmc::testing::test_seed(20240521));
  double worst = 0.0;
  for (Eigen::Index r = 0; r < 6; ++r)
    for (Eigen::Index c = r; c < 6; ++c)
      worst = std::max(worst, std::abs(mc.covariance[3](r, c) - wrong.covariance[3](r, c)) /
                                  mc.covariance_standard_error[3](r, c));
  EXPECT_GT(worst, kZ);
}

TEST(PriorMomentsStatistical, StandardErrorsDescribeSeedToSeedScatter) {
  // Two independent Monte Carlo runs differ by N(0, SE₁² + SE₂²) per entry if the batch
  // SEs are honest: every Σ^(4) entry within kZ combined SEs (21 entries).
  const PriorMoments a = run(core::FourPointMethod::monte_carlo, kernelmc::testing::test_seed(101));
  const PriorMoments b = run(core::FourPointMethod::monte_carlo, kernelmc::testing::test_seed(202));
  for (Eigen::Index r = 0; r < 6; ++r) {
    for (Eigen::Index c = r; c < 6; ++c) {
      const double se = std::hypot(a.covariance_standard_error[3](r, c), b.covariance_standard_error[3](r, c));
      EXPECT_TRUE(testing::WithinStandardErrors(a.covariance[3](r, c), b.covariance[3](r, c), se, kZ));
    }
  }
}

}  // namespace
}  // namespace kernelmc::theory
