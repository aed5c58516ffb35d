// Tests of sampling/underdamped_langevin: the unadjusted transition is one BAOAB step,
// the Metropolised one is OBABO with a momentum flip on rejection.
#include "sampling/underdamped_langevin.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "sampling/integrators.hpp"
#include "sampling/test_potentials.hpp"

namespace kernelmc::sampling {
namespace {

TEST(UnderdampedLangevin, UnadjustedTransitionIsBaoabStep) {
  auto U = testing::correlated_gumbel();
  const SamplerSettings s{.kind = SamplerKind::underdamped_langevin, .step_size = 0.2, .friction = 0.7,
                          .metropolis_correction = false, .adapt_step_size = false};
  UnderdampedLangevinSampler sampler(s, U);
  const Metric metric(3);
  PhasePoint state = make_phase_point(U, U.mean());
  core::Engine engine = core::make_stream(19, core::StreamPurpose::test, 0, 0);
  for (int i = 0; i < 100; ++i) {
    core::Engine replay = engine;
    PhasePoint expected = state;
    baoab(expected, metric, U, 0.2, 0.7, replay);
    sampler.transition(state, engine);
    ASSERT_EQ(state.q, expected.q);
    ASSERT_EQ(state.p, expected.p);
  }
}

TEST(UnderdampedLangevin, MetropolisedTransitionIsObaboWithFlipOnRejection) {
  auto U = testing::correlated_gumbel();
  const SamplerSettings s{.kind = SamplerKind::underdamped_langevin, .step_size = 0.9, .friction = 0.5};
  UnderdampedLangevinSampler sampler(s, U);
  const Metric metric(3);
  PhasePoint state = make_phase_point(U, U.mean());
  core::Engine engine = core::make_stream(20, core::StreamPurpose::test, 0, 0);
  int rejected = 0;
  for (int i = 0; i < 300; ++i) {
    core::Engine replay = engine;
    PhasePoint z = state;
    ornstein_uhlenbeck(z, metric, 0.5, 0.45, replay);
    PhasePoint proposal = z;
    leapfrog(proposal, metric, U, 0.9);
    const double accept = std::min(1.0, std::exp(hamiltonian(z, metric) - hamiltonian(proposal, metric)));
    if (core::uniform01(replay) < accept) {
      z = proposal;
    } else {
      z.p = -z.p;
      ++rejected;
    }
    ornstein_uhlenbeck(z, metric, 0.5, 0.45, replay);
    const TransitionInfo info = sampler.transition(state, engine);
    ASSERT_DOUBLE_EQ(info.accept_stat, accept);
    ASSERT_EQ(state.q, z.q);
    ASSERT_EQ(state.p, z.p);
  }
  EXPECT_GT(rejected, 10);  // the flip branch was replayed
}

}  // namespace
}  // namespace kernelmc::sampling
