#include "sampling/hmc.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "sampling/integrators.hpp"

namespace kernelmc::sampling {

HmcSampler::HmcSampler(const SamplerSettings& settings, Potential& potential)
    : Sampler(settings, potential) {}

int HmcSampler::n_steps() const {
  const double steps = std::floor(settings_.integration_time / step_size_);
  // The upper bound only keeps the conversion to int defined.
  return steps < 1.0 ? 1 : (steps > 1e9 ? 1000000000 : static_cast<int>(steps));
}

TransitionInfo HmcSampler::step(PhasePoint& state, core::Engine& engine) {
  TransitionInfo info{.step_size = step_size_};
  metric_.sample_momentum(engine, state.p);
  const double H0 = hamiltonian(state, metric_);
  proposal_ = state;
  const int L = n_steps();
  double energy_error = 0.0;
  while (info.n_leapfrog < L && !info.divergent) {
    leapfrog(proposal_, metric_, potential_, step_size_);
    ++info.n_leapfrog;
    energy_error = hamiltonian(proposal_, metric_) - H0;
    info.divergent = is_divergent(energy_error, settings_.max_energy_error);
  }
  info.accept_stat = info.divergent ? 0.0 : std::min(1.0, std::exp(-energy_error));
  if (core::uniform01(engine) < info.accept_stat) std::swap(state, proposal_);
  info.energy = hamiltonian(state, metric_);
  return info;
}

}  // namespace kernelmc::sampling
