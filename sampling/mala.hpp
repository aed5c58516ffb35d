#pragma once
// Metropolis-adjusted Langevin (Roberts & Tweedie 1996; Roberts & Rosenthal 1998),
// preconditioned by the metric: with D = M⁻¹ and step h,
//   q' = q − h D∇U(q) + √(2h) D^{1/2} ξ,   ξ ~ N(0, I),
// accepted with probability min(1, e^{−U(q')} g(q | q') / (e^{−U(q)} g(q' | q))), where
// g(x' | x) = N(x'; x − h D∇U(x), 2h D). Exact for e^{−U}. It equals one leapfrog step
// of HMC with ε = √(2h) (a test checks this). Roberts & Rosenthal's optimal acceptance
// is 0.574; set target_accept to it for MALA.
#include "sampling/sampler.hpp"

namespace kernelmc::sampling {

class MalaSampler final : public Sampler {
 public:
  // `settings` must have passed validate(); `potential` must outlive the sampler.
  MalaSampler(const SamplerSettings& settings, Potential& potential);

 protected:
  TransitionInfo step(PhasePoint& state, core::Engine& engine) override;
  // log of the Metropolis–Hastings ratio of one proposal with step `trial_step`.
  double trial_log_acceptance(const PhasePoint& state, double trial_step, core::Engine& engine) override;

 private:
  // Draws the proposal from `state` with step h into proposal_ and returns the log
  // Metropolis–Hastings ratio (NaN or −inf if the proposal's energy is not finite).
  double propose(const PhasePoint& state, double h, core::Engine& engine);

  PhasePoint proposal_;
};

}  // namespace kernelmc::sampling
