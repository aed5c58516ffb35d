#include "sampling/mala.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "sampling/integrators.hpp"

namespace kernelmc::sampling {

MalaSampler::MalaSampler(const SamplerSettings& settings, Potential& potential)
    : Sampler(settings, potential) {}

double MalaSampler::propose(const PhasePoint& state, double h, core::Engine& engine) {
  const Eigen::VectorXd& D = metric_.inverse_mass();
  euler_maruyama(state, proposal_, metric_, potential_, h, engine);
  // −log g(x' | x) + const = |x' − x + h D∇U(x)|²_{D⁻¹} / (4h).
  const auto transition_energy = [&](const PhasePoint& from, const PhasePoint& to) {
    return (to.q - from.q + h * D.cwiseProduct(from.gradient)).cwiseAbs2().cwiseQuotient(D).sum() / (4.0 * h);
  };
  return state.potential - proposal_.potential - transition_energy(proposal_, state) +
         transition_energy(state, proposal_);
}

double MalaSampler::trial_log_acceptance(const PhasePoint& state, double trial_step, core::Engine& engine) {
  const double log_ratio = propose(state, trial_step, engine);
  return std::isnan(log_ratio) ? -std::numeric_limits<double>::infinity() : log_ratio;
}

TransitionInfo MalaSampler::step(PhasePoint& state, core::Engine& engine) {
  TransitionInfo info{.n_leapfrog = 1, .step_size = step_size_};
  const double log_ratio = propose(state, step_size_, engine);
  info.divergent = is_divergent(-log_ratio, settings_.max_energy_error);
  info.accept_stat = info.divergent ? 0.0 : std::min(1.0, std::exp(log_ratio));
  if (core::uniform01(engine) < info.accept_stat) std::swap(state, proposal_);
  info.energy = state.potential;
  return info;
}

}  // namespace kernelmc::sampling
