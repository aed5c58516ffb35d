#pragma once
// The sampler contract (Stan's base_mcmc): `transition` moves a phase point one Markov
// step and returns a small record. It is not virtual: it runs the sampler's own `step`
// and then the warmup adaptation, so no sampler can forget to adapt. Every sampler targets e^{−U} of a
// Potential (THEORY.md §1.4) exactly, except the unadjusted ones: overdamped Langevin
// (bias O(h)) and underdamped Langevin without metropolis_correction (bias O(h²)).
//
// Warmup (Stan's adaptive samplers): between begin_warmup and end_warmup each
// transition also adapts
//  - the step size, by dual averaging toward target_accept (stepsize_adaptation.hpp),
//    restarted with Stan's initial-step heuristic after every metric update;
//  - a diagonal metric, from windowed variance estimates (metric_adaptation.hpp).
// A chain runner calls, for one chain that owns `state`, `potential` and `engine`:
//   sampler->begin_warmup(state, n_warmup, engine);
//   for (i < n_warmup) sampler->transition(state, engine);
//   sampler->end_warmup();          // fixes ε = exp(x̄) and the metric
//   for (i < n_draws) record(sampler->transition(state, engine), state);
// A chain can stop between two transitions and continue in another process:
// save_state writes everything that carries from one transition to the next (step size,
// metric, the adaptation's state), restore_state reads it into a sampler made with the same
// settings, and the phase point and the engine travel beside it (write_phase_point,
// BinaryWriter::engine). The samplers' own members are per-transition workspaces only.
// Without begin_warmup nothing adapts: the sampler runs with settings.step_size and the
// unit metric. A non-finite energy never enters the chain: the proposal is rejected
// and the transition is reported as divergent.
#include <Eigen/Core>
#include <cmath>
#include <memory>
#include <string_view>

#include "core/checkpoint_io.hpp"
#include "core/rng.hpp"
#include "core/settings/sampler.hpp"
#include "sampling/metric.hpp"
#include "sampling/metric_adaptation.hpp"
#include "sampling/phase_point.hpp"
#include "sampling/potential.hpp"
#include "sampling/stepsize_adaptation.hpp"

namespace kernelmc::sampling {

// [sampler] is a config section (core/config.hpp); these names are used throughout sampling/.
using core::MetricKind;
using core::SamplerKind;
using core::SamplerSettings;
using core::sampler_kind_name;
using core::validate;

// What one transition did (Stan's sample and the sampler_params of base_hmc).
struct TransitionInfo {
  // Metropolis acceptance probability min(1, e^{−ΔH}); NUTS: its mean over the
  // trajectory; 1 for unadjusted samplers whose step was finite, 0 after a divergence.
  double accept_stat = 0.0;
  bool divergent = false;  // a proposal had a non-finite energy or H − H₀ > max_energy_error
  int tree_depth = 0;      // NUTS tree depth; 0 for other samplers
  int n_leapfrog = 0;      // gradient evaluations in this transition
  // H = U + K at the returned state; U for MALA and overdamped Langevin (no momentum).
  double energy = 0.0;
  double step_size = 0.0;  // ε (or h) used by this transition
};

// Whether a proposal with energy error H₁ − H₀ is a divergence: non-finite (a NaN energy
// counts as infinite, Stan's base_nuts) or above the threshold.
inline bool is_divergent(double energy_error, double max_energy_error) {
  return !std::isfinite(energy_error) || energy_error > max_energy_error;
}

class Sampler {
 public:
  virtual ~Sampler() = default;
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // One Markov transition: moves `state` (finite on entry, finite on exit) and draws
  // every random number from `engine`. During warmup it also adapts.
  TransitionInfo transition(PhasePoint& state, core::Engine& engine) {
    const TransitionInfo info = step(state, engine);
    adapt(info, state, engine);
    return info;
  }

  // Starts adapting for n_warmup transitions from `state`: sets the metric windows and,
  // with adapt_step_size, searches an initial step size (Stan's init_stepsize) and sets
  // μ = log(10 ε). Throws NumericalError if no step size in [2^-1074, 1e7] gives a
  // sensible acceptance (a flat or discontinuous potential).
  void begin_warmup(const PhasePoint& state, Eigen::Index n_warmup, core::Engine& engine);
  // Stops adapting; the step size becomes exp(x̄) of the dual averaging (if it ran).
  void end_warmup();
  bool in_warmup() const { return adapting_; }

  double step_size() const { return step_size_; }
  const Metric& metric() const { return metric_; }
  const SamplerSettings& settings() const { return settings_; }

  // The state between transitions (the header's), and that state read back into a sampler
  // with the same settings and dimension (DataError if it does not fit).
  void save_state(core::BinaryWriter& out) const;
  void restore_state(core::BinaryReader& in);

 protected:
  // `settings` must have passed validate(); `potential` must outlive the sampler.
  Sampler(const SamplerSettings& settings, Potential& potential);

  // The sampler's Markov step (transition() adapts after it): moves `state`, drawing
  // every random number from `engine`, allocating nothing after the first call.
  virtual TransitionInfo step(PhasePoint& state, core::Engine& engine) = 0;

  // log acceptance probability of one trial move from `state` with step `trial_step`, used by
  // the initial-step heuristic. Default: one leapfrog step with fresh momentum, H₀ − H₁
  // (NaN counts as −inf), as Stan's init_stepsize.
  virtual double trial_log_acceptance(const PhasePoint& state, double trial_step, core::Engine& engine);

  SamplerSettings settings_;
  Potential& potential_;
  Metric metric_;
  double step_size_;

 private:
  // Warmup adaptation after a step, with the state it returned (no-op outside warmup).
  void adapt(const TransitionInfo& info, const PhasePoint& state, core::Engine& engine);
  void find_initial_step_size(const PhasePoint& state, core::Engine& engine);
  void restart_step_size_adaptation(const PhasePoint& state, core::Engine& engine);

  StepSizeAdaptation step_size_adaptation_;
  MetricAdaptation metric_adaptation_;
  Eigen::VectorXd adapted_inverse_mass_;  // the metric adaptation's new diag(M⁻¹)
  PhasePoint trial_point_;                // the trial move of the initial-step heuristic
  bool adapting_ = false;
};

// A phase point, bit for bit, and one read back (DataError unless its dimension is `dimension`).
void write_phase_point(const PhasePoint& point, core::BinaryWriter& out);
PhasePoint read_phase_point(core::BinaryReader& in, Eigen::Index dimension);

// The sampler settings.kind asks for. Validates `settings`; `potential` must outlive it.
std::unique_ptr<Sampler> make_sampler(const SamplerSettings& settings, Potential& potential);

}  // namespace kernelmc::sampling
