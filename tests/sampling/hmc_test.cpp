// Tests of sampling/hmc: the trajectory length, a transition replayed by hand from the
// integrator (momentum draw, L leapfrog steps, Metropolis test), and an early stop on
// divergence.
#include "sampling/hmc.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "sampling/integrators.hpp"
#include "sampling/test_potentials.hpp"

namespace kernelmc::sampling {
namespace {

TEST(Hmc, TakesIntegrationTimeOverStepSizeLeapfrogSteps) {
  auto U = testing::correlated_gaussian();
  EXPECT_EQ(HmcSampler(SamplerSettings{.kind = SamplerKind::hmc, .step_size = 0.3, .integration_time = 1.0}, U)
                .n_steps(),
            3);
  EXPECT_EQ(HmcSampler(SamplerSettings{.kind = SamplerKind::hmc, .step_size = 2.0, .integration_time = 1.0}, U)
                .n_steps(),
            1);
}

TEST(Hmc, TransitionIsLeapfrogTrajectoryWithMetropolisTest) {
  auto U = testing::correlated_gumbel();
  const SamplerSettings s{.kind = SamplerKind::hmc, .step_size = 0.45, .integration_time = 2.0};
  HmcSampler sampler(s, U);
  PhasePoint state = make_phase_point(U, U.mean());
  core::Engine engine = core::make_stream(12, core::StreamPurpose::test, 0, 0);
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 300; ++i) {
    // Replay with a copy of the engine: p ~ N(0, I), 4 leapfrog steps, accept if u < e^{H₀−H₁}.
    core::Engine replay = engine;
    const Metric metric(U.dimension());
    PhasePoint z = state;
    metric.sample_momentum(replay, z.p);
    const double H0 = hamiltonian(z, metric);
    for (int l = 0; l < 4; ++l) leapfrog(z, metric, U, 0.45);
    const double accept = std::min(1.0, std::exp(H0 - hamiltonian(z, metric)));
    const bool accept_it = core::uniform01(replay) < accept;
    const Eigen::VectorXd expected = accept_it ? z.q : state.q;

    const TransitionInfo info = sampler.transition(state, engine);
    ASSERT_EQ(info.n_leapfrog, 4);
    ASSERT_DOUBLE_EQ(info.accept_stat, accept);
    ASSERT_EQ(state.q, expected);  // bit-identical: the same operations in the same order
    accept_it ? ++accepted : ++rejected;
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);  // both branches were replayed
}

TEST(Hmc, DivergentTrajectoryStopsEarlyAndIsRejected) {
  // ε = 2.5 on a unit Gaussian is beyond the leapfrog's stability limit ε < 2: the energy
  // grows geometrically and exceeds H₀ + 1000 within 100 steps.
  auto U = testing::GaussianPotential(Eigen::VectorXd::Zero(1), Eigen::MatrixXd::Identity(1, 1));
  HmcSampler sampler(SamplerSettings{.kind = SamplerKind::hmc, .step_size = 2.5, .integration_time = 250.0}, U);
  PhasePoint state = make_phase_point(U, Eigen::VectorXd::Constant(1, 0.8));
  core::Engine engine = core::make_stream(13, core::StreamPurpose::test, 0, 0);
  const TransitionInfo info = sampler.transition(state, engine);
  EXPECT_TRUE(info.divergent);
  EXPECT_LT(info.n_leapfrog, sampler.n_steps());
  EXPECT_EQ(info.accept_stat, 0.0);
  EXPECT_EQ(state.q(0), 0.8);
}

}  // namespace
}  // namespace kernelmc::sampling
