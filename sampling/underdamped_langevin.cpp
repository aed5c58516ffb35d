#include "sampling/underdamped_langevin.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "sampling/integrators.hpp"

namespace kernelmc::sampling {

UnderdampedLangevinSampler::UnderdampedLangevinSampler(const SamplerSettings& settings, Potential& potential)
    : Sampler(settings, potential) {}

TransitionInfo UnderdampedLangevinSampler::step(PhasePoint& state, core::Engine& engine) {
  TransitionInfo info{.n_leapfrog = 1, .step_size = step_size_};
  const double h = step_size_;
  const double gamma = settings_.friction;
  if (settings_.metropolis_correction) {
    ornstein_uhlenbeck(state, metric_, gamma, 0.5 * h, engine);
    const double H0 = hamiltonian(state, metric_);
    proposal_ = state;
    leapfrog(proposal_, metric_, potential_, h);
    const double energy_error = hamiltonian(proposal_, metric_) - H0;
    info.divergent = is_divergent(energy_error, settings_.max_energy_error);
    info.accept_stat = info.divergent ? 0.0 : std::min(1.0, std::exp(-energy_error));
    if (core::uniform01(engine) < info.accept_stat) {
      std::swap(state, proposal_);
    } else {
      state.p = -state.p;  // the flip keeps the Metropolised BAB step reversible
    }
    ornstein_uhlenbeck(state, metric_, gamma, 0.5 * h, engine);
  } else {
    proposal_ = state;
    baoab(proposal_, metric_, potential_, h, gamma, engine);
    info.divergent = !std::isfinite(hamiltonian(proposal_, metric_));
    info.accept_stat = info.divergent ? 0.0 : 1.0;
    if (!info.divergent) std::swap(state, proposal_);
  }
  info.energy = hamiltonian(state, metric_);
  return info;
}

}  // namespace kernelmc::sampling
