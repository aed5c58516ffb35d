#pragma once
// Unadjusted overdamped Langevin (ULA), the Euler–Maruyama discretisation of
// dθ = −D∇U dt + √2 D^{1/2} dB (THEORY.md §1.4):
//   θ ← θ − h D∇U(θ) + √(2h) D^{1/2} ξ,   D = M⁻¹ (the identity for the unit metric).
// BIASED: no Metropolis step, so its stationary law differs from e^{−U} by O(h). For
// U = θ²/(2σ²) the stationary variance is exactly σ²/(1 − h/(2σ²)). Use MALA or HMC for
// exact sampling, or extrapolate in h. A step to a non-finite energy is rejected (the
// chain stays put) and counted as divergent; step-size adaptation is not available.
#include "sampling/sampler.hpp"

namespace kernelmc::sampling {

class OverdampedLangevinSampler final : public Sampler {
 public:
  // `settings` must have passed validate(); `potential` must outlive the sampler.
  OverdampedLangevinSampler(const SamplerSettings& settings, Potential& potential);

 protected:
  TransitionInfo step(PhasePoint& state, core::Engine& engine) override;

 private:
  PhasePoint proposal_;
};

}  // namespace kernelmc::sampling
