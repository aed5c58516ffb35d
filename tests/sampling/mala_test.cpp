// Tests of sampling/mala: MALA with step h equals one-step HMC with ε = √(2h), an
// independent route through the leapfrog and the Hamiltonian (same draws, same chain).
#include "sampling/mala.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "sampling/hmc.hpp"
#include "sampling/integrators.hpp"
#include "sampling/test_potentials.hpp"

namespace kernelmc::sampling {
namespace {

TEST(Mala, EqualsOneStepHmcWithStepSqrtTwoH) {
  // Both draw ξ ~ N(0, I) and then u ~ U(0, 1). MALA's proposal-density ratio and HMC's
  // e^{H₀−H₁} are the same number computed two ways.
  auto U = testing::correlated_gumbel();
  const double h = 0.18, eps = std::sqrt(2 * h);
  MalaSampler mala(SamplerSettings{.kind = SamplerKind::mala, .step_size = h}, U);
  HmcSampler hmc(SamplerSettings{.kind = SamplerKind::hmc, .step_size = eps, .integration_time = eps}, U);
  ASSERT_EQ(hmc.n_steps(), 1);
  PhasePoint a = make_phase_point(U, U.mean()), b = a;
  core::Engine ea = core::make_stream(17, core::StreamPurpose::test, 0, 0), eb = ea;
  int rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    const TransitionInfo ia = mala.transition(a, ea);
    const TransitionInfo ib = hmc.transition(b, eb);
    // Deterministic: the two formulas agree to round-off of O(1) energies; 1e-12.
    ASSERT_NEAR(ia.accept_stat, ib.accept_stat, 1e-12) << "transition " << i;
    ASSERT_LT((a.q - b.q).lpNorm<Eigen::Infinity>(), 1e-12) << "transition " << i;
    rejected += ia.accept_stat < 1.0;
  }
  EXPECT_GT(rejected, 100);  // the Metropolis ratio was exercised
}

}  // namespace
}  // namespace kernelmc::sampling
