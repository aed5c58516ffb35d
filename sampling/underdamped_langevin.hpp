#pragma once
// Underdamped (kinetic) Langevin dynamics with friction γ and metric M,
//   dq = M⁻¹p dt,   dp = −∇U dt − γ p dt + √(2γ) M^{1/2} dW,
// whose stationary law is e^{−U(q)} N(p; 0, M). The momentum persists between
// transitions (it lives in the PhasePoint). One transition is one step of size h:
//  - metropolis_correction = true: OBABO with a Metropolised BAB core (Horowitz 1991,
//    "generalized guided Monte Carlo", GHMC): O(h/2); one leapfrog step accepted with
//    probability min(1, e^{H₀−H₁}), the momentum negated on rejection; O(h/2). Exact.
//  - metropolis_correction = false: unadjusted BAOAB (Leimkuhler & Matthews 2013). For
//    Gaussian targets its positions have exactly the target law for every stable h; in
//    general the bias is O(h²). A step to a non-finite energy is rejected (the state is
//    kept) and counted as divergent; step-size adaptation is not available.
#include "sampling/sampler.hpp"

namespace kernelmc::sampling {

class UnderdampedLangevinSampler final : public Sampler {
 public:
  // `settings` must have passed validate(); `potential` must outlive the sampler.
  UnderdampedLangevinSampler(const SamplerSettings& settings, Potential& potential);

 protected:
  TransitionInfo step(PhasePoint& state, core::Engine& engine) override;

 private:
  PhasePoint proposal_;
};

}  // namespace kernelmc::sampling
