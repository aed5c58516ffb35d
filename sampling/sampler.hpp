#pragma once
// The sampler contract (Stan's base_mcmc): one virtual `transition` that moves a phase
// point one Markov step and returns a small record. Every sampler targets e^{−U} of a
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
// Without begin_warmup nothing adapts: the sampler runs with settings.step_size and the
// unit metric. A non-finite energy never enters the chain: the proposal is rejected
// and the transition is reported as divergent.
#include <Eigen/Core>
#include <cmath>
#include <memory>
#include <string_view>

#include "core/rng.hpp"
#include "sampling/metric.hpp"
#include "sampling/metric_adaptation.hpp"
#include "sampling/phase_point.hpp"
#include "sampling/potential.hpp"
#include "sampling/stepsize_adaptation.hpp"

namespace kernelmc::sampling {

enum class SamplerKind {
  hmc,                   // static HMC: leapfrog trajectory of fixed length + Metropolis
  nuts,                  // No-U-Turn sampler, multinomial (Stan's base_nuts)
  mala,                  // Metropolis-adjusted Langevin
  underdamped_langevin,  // OBABO with Metropolised BAB (GHMC), or unadjusted BAOAB
  overdamped_langevin,   // unadjusted Euler–Maruyama (ULA): biased by O(h)
};
std::string_view sampler_kind_name(SamplerKind kind);

// [sampler]. Plain aggregate (STYLE.md §5); validate() checks every field.
struct SamplerSettings {
  SamplerKind kind = SamplerKind::nuts;        // Stan's default algorithm
  MetricKind metric = MetricKind::diagonal;    // Stan's default metric, diag_e
  // ε of the leapfrog (hmc, nuts, underdamped) or h of the Langevin step θ ← θ − hM⁻¹∇U
  // + √(2h) M^{-1/2}ξ (mala, overdamped). With adapt_step_size it is only the start of
  // the heuristic search. 1 is Stan's default stepsize.
  double step_size = 1.0;
  // hmc: trajectory length T; L = max(1, ⌊T/ε⌋) leapfrog steps (as Stan's base_static_hmc).
  // π/2 is a quarter period of a unit-variance Gaussian direction, the shape the adapted
  // metric gives the target: there an exact trajectory maps q to an independent draw.
  // Stan's default, 2π, is a full period there and returns the chain to its start (on
  // such periodicity see Neal 2011, "MCMC using Hamiltonian dynamics", §5.4).
  double integration_time = 1.5707963267948966;
  int max_tree_depth = 10;          // nuts: at most 2^10 − 1 leapfrog steps; Stan's default
  // Divergence threshold on H − H₀ (Stan's base_nuts max_deltaH_ = 1000); applied to the
  // proposals of every Metropolised sampler.
  double max_energy_error = 1000.0;
  // underdamped: γ in dp = −∇U dt − γ p dt + √(2γ) M^{1/2} dW. γ = 1 is underdamped for a
  // unit-variance Gaussian (critical damping is γ = 2), so momentum persists for ~1 time
  // unit, as in Horowitz's GHMC.
  double friction = 1.0;
  // underdamped: true = OBABO whose BAB core is Metropolis-corrected, with a momentum flip
  // on rejection (Horowitz 1991, GHMC): exact. false = unadjusted BAOAB (Leimkuhler &
  // Matthews 2013): exact positions for Gaussian targets, O(h²) bias otherwise.
  bool metropolis_correction = true;
  // Dual averaging during warmup; must be false for samplers without an acceptance
  // statistic (overdamped, and underdamped without metropolis_correction).
  bool adapt_step_size = true;
  double target_accept = 0.8;  // δ; Hoffman & Gelman 2014; Stan's default adapt delta
  double adapt_gamma = 0.05;   // γ of dual averaging; Hoffman & Gelman 2014 §3.2; Stan
  double adapt_kappa = 0.75;   // κ, the averaging exponent t^{−κ}; Hoffman & Gelman; Stan
  double adapt_t0 = 10.0;      // t0, damping of the first iterations; Hoffman & Gelman; Stan
  Eigen::Index adapt_init_buffer = 75;  // warmup transitions before the first window; Stan
  Eigen::Index adapt_term_buffer = 50;  // warmup transitions after the last window; Stan
  Eigen::Index adapt_base_window = 25;  // length of the first window (then doubling); Stan
  bool operator==(const SamplerSettings&) const = default;
};

// Throws ConfigError naming `sampler.<field>`, its value and the rule.
void validate(const SamplerSettings& settings);

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
  virtual TransitionInfo transition(PhasePoint& state, core::Engine& engine) = 0;

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

 protected:
  // `settings` must have passed validate(); `potential` must outlive the sampler.
  Sampler(const SamplerSettings& settings, Potential& potential);

  // Called by every transition() at its end, with the state it returns.
  void adapt(const TransitionInfo& info, const PhasePoint& state, core::Engine& engine);

  // log acceptance probability of one trial move from `state` with step `step`, used by
  // the initial-step heuristic. Default: one leapfrog step with fresh momentum, H₀ − H₁
  // (NaN counts as −inf), as Stan's init_stepsize.
  virtual double trial_log_acceptance(const PhasePoint& state, double step, core::Engine& engine);

  SamplerSettings settings_;
  Potential& potential_;
  Metric metric_;
  double step_size_;

 private:
  void find_initial_step_size(const PhasePoint& state, core::Engine& engine);
  void restart_step_size_adaptation(const PhasePoint& state, core::Engine& engine);

  StepSizeAdaptation step_size_adaptation_;
  MetricAdaptation metric_adaptation_;
  bool adapting_ = false;
};

// The sampler settings.kind asks for. Validates `settings`; `potential` must outlive it.
std::unique_ptr<Sampler> make_sampler(const SamplerSettings& settings, Potential& potential);

}  // namespace kernelmc::sampling
