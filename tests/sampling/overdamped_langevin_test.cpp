// Tests of sampling/overdamped_langevin: one transition is the Euler–Maruyama step.
#include "sampling/overdamped_langevin.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "sampling/integrators.hpp"
#include "sampling/test_potentials.hpp"

namespace kernelmc::sampling {
namespace {

TEST(OverdampedLangevin, TransitionIsEulerMaruyamaStep) {
  auto U = testing::correlated_gumbel();
  const double h = 0.05;
  OverdampedLangevinSampler sampler(
      SamplerSettings{.kind = SamplerKind::overdamped_langevin, .step_size = h, .adapt_step_size = false}, U);
  PhasePoint state = make_phase_point(U, U.mean());
  core::Engine engine = core::make_stream(18, core::StreamPurpose::test, 0, 0);
  for (int i = 0; i < 100; ++i) {
    core::Engine replay = engine;
    Eigen::VectorXd xi(3);
    core::fill_standard_normal(replay, xi);
    const Eigen::VectorXd expected = state.q - h * state.gradient + std::sqrt(2 * h) * xi;
    const TransitionInfo info = sampler.transition(state, engine);
    // Deterministic: the same formula; tolerance 1e-14 for reassociation.
    ASSERT_LT((state.q - expected).lpNorm<Eigen::Infinity>(), 1e-14);
    ASSERT_EQ(info.accept_stat, 1.0);
    ASSERT_DOUBLE_EQ(state.potential, U.value(state.q));
  }
}

}  // namespace
}  // namespace kernelmc::sampling
