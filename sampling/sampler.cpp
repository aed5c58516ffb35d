#include "sampling/sampler.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "core/error.hpp"
#include "sampling/hmc.hpp"
#include "sampling/integrators.hpp"
#include "sampling/mala.hpp"
#include "sampling/nuts.hpp"
#include "sampling/overdamped_langevin.hpp"
#include "sampling/underdamped_langevin.hpp"

namespace kernelmc::sampling {

Sampler::Sampler(const SamplerSettings& settings, Potential& potential)
    : settings_(settings),
      potential_(potential),
      metric_(potential.dimension()),
      step_size_(settings.step_size),
      step_size_adaptation_(settings.target_accept, settings.adapt_gamma, settings.adapt_kappa,
                            settings.adapt_t0),
      adapted_inverse_mass_(potential.dimension()) {}

void Sampler::begin_warmup(const PhasePoint& state, Eigen::Index n_warmup, core::Engine& engine) {
  adapting_ = true;
  if (settings_.metric == MetricKind::diagonal) {
    metric_adaptation_ = MetricAdaptation(
        metric_.dimension(), AdaptationWindows(n_warmup, settings_.adapt_init_buffer,
                                               settings_.adapt_term_buffer, settings_.adapt_base_window));
  }
  if (settings_.adapt_step_size) restart_step_size_adaptation(state, engine);
}

void Sampler::end_warmup() {
  adapting_ = false;
  if (settings_.adapt_step_size && step_size_adaptation_.iterations() > 0)
    step_size_ = step_size_adaptation_.adapted_step_size();
}

void Sampler::adapt(const TransitionInfo& info, const PhasePoint& state, core::Engine& engine) {
  if (!adapting_) return;
  // Stan's adapt_diag_e_nuts::transition: step size first, then the metric; a new metric
  // restarts the step-size search and the dual averaging.
  if (settings_.adapt_step_size) step_size_ = step_size_adaptation_.learn(info.accept_stat);
  if (settings_.metric != MetricKind::diagonal) return;
  if (metric_adaptation_.learn_variance(adapted_inverse_mass_, state.q)) {
    metric_.set_inverse_mass(adapted_inverse_mass_);
    if (settings_.adapt_step_size) restart_step_size_adaptation(state, engine);
  }
}

void Sampler::restart_step_size_adaptation(const PhasePoint& state, core::Engine& engine) {
  find_initial_step_size(state, engine);
  // Hoffman & Gelman: μ = log(10 ε₀) with ε₀ from the heuristic. (Stan's services set the
  // first μ from the user's step size, before the heuristic; later ones as here.)
  step_size_adaptation_.set_mu(std::log(10.0 * step_size_));
  step_size_adaptation_.restart();
}

void Sampler::save_state(core::BinaryWriter& out) const {
  out.real(step_size_);
  out.vector(metric_.inverse_mass());
  out.integer(adapting_ ? 1 : 0);
  step_size_adaptation_.save_state(out);
  metric_adaptation_.save_state(out);
}

void Sampler::restore_state(core::BinaryReader& in) {
  step_size_ = in.real();
  const Eigen::VectorXd inverse_mass = in.vector();
  if (inverse_mass.size() != metric_.dimension() || !inverse_mass.allFinite() || (inverse_mass.array() <= 0).any())
    throw DataError("sampler state: the metric does not fit this sampler");
  metric_.set_inverse_mass(inverse_mass);
  adapting_ = in.integer() != 0;
  step_size_adaptation_.restore_state(in);
  metric_adaptation_.restore_state(in);
}

void write_phase_point(const PhasePoint& point, core::BinaryWriter& out) {
  out.vector(point.q);
  out.vector(point.p);
  out.vector(point.gradient);
  out.real(point.potential);
}

PhasePoint read_phase_point(core::BinaryReader& in, Eigen::Index dimension) {
  PhasePoint point;
  point.q = in.vector();
  point.p = in.vector();
  point.gradient = in.vector();
  point.potential = in.real();
  if (point.q.size() != dimension || point.p.size() != dimension || point.gradient.size() != dimension)
    throw DataError("phase point: dimension " + std::to_string(point.q.size()) + ", expected " +
                    std::to_string(dimension));
  return point;
}

double Sampler::trial_log_acceptance(const PhasePoint& state, double trial_step, core::Engine& engine) {
  PhasePoint& z = trial_point_;
  z = state;
  metric_.sample_momentum(engine, z.p);
  const double H0 = hamiltonian(z, metric_);
  leapfrog(z, metric_, potential_, trial_step);
  const double H1 = hamiltonian(z, metric_);
  return std::isnan(H1) ? -std::numeric_limits<double>::infinity() : H0 - H1;
}

void Sampler::find_initial_step_size(const PhasePoint& state, core::Engine& engine) {
  // Stan's base_hmc::init_stepsize: double ε while a trial step is accepted with
  // probability above 0.8, or halve it while below, until the acceptance crosses 0.8.
  const double log_threshold = std::log(0.8);
  const int direction = trial_log_acceptance(state, step_size_, engine) > log_threshold ? 1 : -1;
  while (true) {
    const double log_accept = trial_log_acceptance(state, step_size_, engine);
    if (direction == 1 && !(log_accept > log_threshold)) break;
    if (direction == -1 && !(log_accept < log_threshold)) break;
    step_size_ = direction == 1 ? 2.0 * step_size_ : 0.5 * step_size_;
    if (step_size_ > 1e7) {
      throw NumericalError("initial step-size search: step size grew beyond 1e7 with every trial step "
                           "accepted; the potential looks flat (improper target)");
    }
    if (step_size_ == 0.0) {
      throw NumericalError("initial step-size search: step size underflowed to 0 with every trial step "
                           "rejected; the potential looks discontinuous or non-finite near the state");
    }
  }
}

std::unique_ptr<Sampler> make_sampler(const SamplerSettings& settings, Potential& potential) {
  validate(settings);
  switch (settings.kind) {
    case SamplerKind::hmc: return std::make_unique<HmcSampler>(settings, potential);
    case SamplerKind::nuts: return std::make_unique<NutsSampler>(settings, potential);
    case SamplerKind::mala: return std::make_unique<MalaSampler>(settings, potential);
    case SamplerKind::underdamped_langevin:
      return std::make_unique<UnderdampedLangevinSampler>(settings, potential);
    case SamplerKind::overdamped_langevin:
      return std::make_unique<OverdampedLangevinSampler>(settings, potential);
  }
  throw ConfigError("sampler.kind: unknown sampler");
}

}  // namespace kernelmc::sampling
