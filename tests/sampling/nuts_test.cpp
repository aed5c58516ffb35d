// Tests of sampling/nuts: the tree-depth cap, the U-turn stop on a harmonic oscillator,
// and the divergence threshold.
#include "sampling/nuts.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "sampling/integrators.hpp"
#include "sampling/test_potentials.hpp"

namespace kernelmc::sampling {
namespace {

using testing::GaussianPotential;

GaussianPotential gaussian_1d(double variance) {
  Eigen::MatrixXd covariance(1, 1);
  covariance << variance;
  return GaussianPotential(Eigen::VectorXd::Zero(1), covariance);
}

TEST(Nuts, TreeStopsAtMaximumDepth) {
  // Variance 1e6 and ε = 0.01: a trajectory of 7 steps is a straight line, far from any
  // U-turn, so every tree grows to depth 3 with 2³ − 1 = 7 leapfrog steps.
  GaussianPotential U = gaussian_1d(1e6);
  NutsSampler sampler(SamplerSettings{.step_size = 0.01, .max_tree_depth = 3}, U);
  PhasePoint state = make_phase_point(U, Eigen::VectorXd::Constant(1, 100.0));
  core::Engine engine = core::make_stream(14, core::StreamPurpose::test, 0, 0);
  for (int i = 0; i < 100; ++i) {
    const TransitionInfo info = sampler.transition(state, engine);
    ASSERT_EQ(info.tree_depth, 3);
    ASSERT_EQ(info.n_leapfrog, 7);
    ASSERT_FALSE(info.divergent);
  }
}

TEST(Nuts, UTurnStopsTrajectoryWithinOnePeriodOfHarmonicOscillator) {
  // On U = q²/2 the flow is a rotation of period 2π. A trajectory spanning a time in
  // (π, 2π) ends with p₋·(q₊ − q₋) ≤ 0 or p₊·(q₊ − q₋) ≤ 0, so the top-level check stops
  // it; since the span doubles from ≤ π, no trajectory spans more than 2π. With the
  // leapfrog's O(ε²) phase error at ε = 0.05 the bound is 2π(1 + ε²) + ε.
  GaussianPotential U = gaussian_1d(1.0);
  const double eps = 0.05;
  NutsSampler sampler(SamplerSettings{.step_size = eps}, U);
  PhasePoint state = make_phase_point(U, Eigen::VectorXd::Constant(1, 0.5));
  core::Engine engine = core::make_stream(15, core::StreamPurpose::test, 0, 0);
  int longest = 0;
  for (int i = 0; i < 500; ++i) {
    const TransitionInfo info = sampler.transition(state, engine);
    longest = std::max(longest, info.n_leapfrog);
    ASSERT_LT(info.tree_depth, 10);
  }
  EXPECT_LE(longest * eps, 2 * M_PI * (1 + eps * eps) + eps);
  EXPECT_GE(longest * eps, M_PI / 2);  // the trajectories are not trivially short
}

TEST(Nuts, EnergyErrorAboveThresholdIsDivergent) {
  // ε = 30 on a unit Gaussian from q₀ = 0.3: the first leapfrog step gives q₁ = 0.3 +
  // 30(p − 4.5) and p₁ = p − 4.5 − 15 q₁, so H₁ ≤ 1000 needs |p₁| ≤ 45, i.e. |q₁| ≤ 3.3 and
  // p within 0.12 of 4.49 (probability < 1e-5 for p ~ N(0, 1)). The invalid first subtree
  // ends every trajectory there: 50 of 50 transitions are divergent and stay at q₀.
  GaussianPotential U = gaussian_1d(1.0);
  NutsSampler sampler(SamplerSettings{.step_size = 30.0}, U);
  PhasePoint state = make_phase_point(U, Eigen::VectorXd::Constant(1, 0.3));
  core::Engine engine = core::make_stream(16, core::StreamPurpose::test, 0, 0);
  int divergent = 0;
  for (int i = 0; i < 50; ++i) {
    const TransitionInfo info = sampler.transition(state, engine);
    divergent += info.divergent;
    ASSERT_TRUE(std::isfinite(info.energy));
    ASSERT_EQ(state.q(0), 0.3);
  }
  EXPECT_EQ(divergent, 50);
  // A threshold of +inf leaves only non-finite energies as divergences.
  NutsSampler lenient(SamplerSettings{.step_size = 30.0, .max_tree_depth = 4, .max_energy_error = INFINITY}, U);
  EXPECT_FALSE(lenient.transition(state, engine).divergent);
}

}  // namespace
}  // namespace kernelmc::sampling
