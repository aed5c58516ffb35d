#include "sampling/overdamped_langevin.hpp"

#include <cmath>
#include <utility>

#include "sampling/integrators.hpp"

namespace kernelmc::sampling {

OverdampedLangevinSampler::OverdampedLangevinSampler(const SamplerSettings& settings, Potential& potential)
    : Sampler(settings, potential) {}

TransitionInfo OverdampedLangevinSampler::step(PhasePoint& state, core::Engine& engine) {
  TransitionInfo info{.n_leapfrog = 1, .step_size = step_size_};
  euler_maruyama(state, proposal_, metric_, potential_, step_size_, engine);
  info.divergent = !std::isfinite(proposal_.potential);
  info.accept_stat = info.divergent ? 0.0 : 1.0;
  if (!info.divergent) std::swap(state, proposal_);
  info.energy = state.potential;
  return info;
}

}  // namespace kernelmc::sampling
