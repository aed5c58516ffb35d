#pragma once
// Static Hamiltonian Monte Carlo (Duane et al. 1987; Neal 2011, "MCMC using Hamiltonian
// dynamics"; Stan's base_static_hmc): fresh momentum p ~ N(0, M), L = max(1, ⌊T/ε⌋)
// leapfrog steps, Metropolis accept with probability min(1, e^{H₀−H₁}). Exact for e^{−U}.
// A trajectory stops at its first divergent step, and the proposal is rejected.
#include "sampling/sampler.hpp"

namespace kernelmc::sampling {

class HmcSampler final : public Sampler {
 public:
  // `settings` must have passed validate(); `potential` must outlive the sampler.
  HmcSampler(const SamplerSettings& settings, Potential& potential);

  // L = max(1, ⌊T/ε⌋) at the current step size.
  int n_steps() const;

 protected:
  TransitionInfo step(PhasePoint& state, core::Engine& engine) override;

 private:
  PhasePoint proposal_;
};

}  // namespace kernelmc::sampling
