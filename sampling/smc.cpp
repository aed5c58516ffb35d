#include "sampling/smc.hpp"

#include <omp.h>

#include <boost/math/tools/roots.hpp>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "sampling/integrators.hpp"
#include "sampling/log_weights.hpp"
#include "sampling/resampling.hpp"
#include "sampling/sampler.hpp"
#include "sampling/tempered_potential.hpp"

namespace kernelmc::sampling {

namespace {

// Bits of the bisection for the next β (Boost eps_tolerance): Δβ to ~1e-9 relative.
constexpr int kBetaBits = 30;
// The step-size rule ε ← ε·exp(kStepGain·(ā − target)): acceptance 0 shrinks ε by e^{−1.3}
// at target 0.65, acceptance 1 grows it by e^{0.7}.
constexpr double kStepGain = 2.0;

[[noreturn]] void fail(const std::string& field, double value, const std::string& rule) {
  throw ConfigError("smc." + field + " = " + std::to_string(value) + ": " + rule);
}

// ESS/n of the weights e^{Δ·log L_i}; particles with log L = −inf have weight 0.
double ess_fraction_of_step(const Eigen::VectorXd& log_likelihoods, double delta) {
  const Eigen::VectorXd increments =
      log_likelihoods.unaryExpr([delta](double x) { return std::isfinite(x) ? delta * x : x; });
  return kish_effective_sample_size(increments) / static_cast<double>(log_likelihoods.size());
}

// The next β: 1 if the whole remaining step keeps ESS/n ≥ target, else the largest β' with
// ESS/n ≥ target, by bisection of the decreasing function ESS(β' − β)/n − target.
double next_inverse_temperature(const Eigen::VectorXd& log_likelihoods, double beta, double target) {
  const auto excess = [&](double delta) { return ess_fraction_of_step(log_likelihoods, delta) - target; };
  const double remaining = 1.0 - beta;
  const double at_end = excess(remaining);
  if (at_end >= 0.0) return 1.0;
  const double at_start = excess(0.0);
  if (!(at_start > 0.0) || std::isnan(at_end))
    throw NumericalError("smc: at beta = " + std::to_string(beta) + " only a fraction " +
                         std::to_string(at_start + target) +
                         " of the particles has a finite likelihood, below smc.ess_fraction = " +
                         std::to_string(target) + "; the tempering cannot continue");
  const auto [lower, upper] = boost::math::tools::bisect(excess, 0.0, remaining,
                                                         boost::math::tools::eps_tolerance<double>(kBetaBits));
  const double delta = lower > 0.0 ? lower : upper;
  return beta + delta;
}

// One sampler and one tempered potential per thread, rebuilt for every step's (β, ε).
class ParticleMover {
 public:
  ParticleMover(const Potential& base, const SmcSettings& settings)
      : settings_(settings) {
    const int threads = omp_get_max_threads();
    for (int t = 0; t < threads; ++t) potentials_.push_back(std::make_unique<TemperedPotential>(base, 0.0));
  }

  TemperedPotential& potential(int thread) { return *potentials_[static_cast<std::size_t>(thread)]; }

  // Moves every particle (column) at inverse temperature β with step ε; refreshes
  // log_likelihoods; returns the per-particle mean acceptance.
  Eigen::VectorXd move(Eigen::MatrixXd& particles, std::vector<core::Engine>& engines, double beta,
                       double step_size, double offset, Eigen::VectorXd& log_likelihoods);

 private:
  SamplerSettings sampler_settings(double step_size) const {
    SamplerSettings s;
    s.kind = settings_.move;
    s.metric = core::MetricKind::unit;
    s.step_size = step_size;
    s.integration_time = settings_.integration_time;
    s.adapt_step_size = false;
    return s;
  }

  SmcSettings settings_;
  std::vector<std::unique_ptr<TemperedPotential>> potentials_;
};

Eigen::VectorXd ParticleMover::move(Eigen::MatrixXd& particles, std::vector<core::Engine>& engines,
                                    double beta, double step_size, double offset,
                                    Eigen::VectorXd& log_likelihoods) {
  const Eigen::Index n = particles.cols();
  Eigen::VectorXd acceptance(n);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
  const SamplerSettings settings = sampler_settings(step_size);
#pragma omp parallel
  {
    TemperedPotential& target = potential(omp_get_thread_num());
    target.set_beta(beta);
    std::unique_ptr<Sampler> sampler;
    std::exception_ptr setup_error;
    try {
      sampler = make_sampler(settings, target);
    } catch (...) {
      setup_error = std::current_exception();
    }
#pragma omp for schedule(static)
    for (Eigen::Index i = 0; i < n; ++i) {
      try {
        if (setup_error) std::rethrow_exception(setup_error);
        PhasePoint state = make_phase_point(target, particles.col(i));
        double accepted = 0.0;
        for (int k = 0; k < settings_.rejuvenation_steps; ++k)
          accepted += sampler->transition(state, engines[static_cast<std::size_t>(i)]).accept_stat;
        particles.col(i) = state.q;
        acceptance(i) = accepted / settings_.rejuvenation_steps;
        log_likelihoods(i) = target.log_likelihood(state.q, offset);
      } catch (...) {
        errors[static_cast<std::size_t>(i)] = std::current_exception();
      }
    }
  }
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  return acceptance;
}

// Exact prior draws θ_i ~ N(0, I), each from its slot's stream, and their log-likelihoods.
Eigen::MatrixXd draw_initial_particles(Eigen::Index dim, std::vector<core::Engine>& engines,
                                       ParticleMover& mover, double offset, Eigen::VectorXd& log_likelihoods) {
  const Eigen::Index n = static_cast<Eigen::Index>(engines.size());
  Eigen::MatrixXd particles(dim, n);
  for (Eigen::Index i = 0; i < n; ++i) core::fill_standard_normal(engines[static_cast<std::size_t>(i)], particles.col(i));
#pragma omp parallel for schedule(static)
  for (Eigen::Index i = 0; i < n; ++i)
    log_likelihoods(i) = mover.potential(omp_get_thread_num()).log_likelihood(particles.col(i), offset);
  return particles;
}

}  // namespace

void validate(const SmcSettings& s) {
  if (s.particles < 2) fail("particles", static_cast<double>(s.particles), "must be at least 2");
  if (!(s.ess_fraction > 0.0 && s.ess_fraction < 1.0)) fail("ess_fraction", s.ess_fraction, "must lie in (0, 1)");
  if (s.rejuvenation_steps < 1) fail("rejuvenation_steps", s.rejuvenation_steps, "must be at least 1");
  if (s.move != core::SamplerKind::hmc && s.move != core::SamplerKind::mala)
    fail("move", static_cast<double>(s.move), "must be hmc or mala (Metropolised, exact for each tempered target)");
  if (!(s.initial_step_size > 0.0 && std::isfinite(s.initial_step_size)))
    fail("initial_step_size", s.initial_step_size, "must be positive and finite");
  if (!(s.integration_time > 0.0 && std::isfinite(s.integration_time)))
    fail("integration_time", s.integration_time, "must be positive and finite");
  if (!(s.target_accept > 0.0 && s.target_accept < 1.0)) fail("target_accept", s.target_accept, "must lie in (0, 1)");
  if (s.max_steps < 1) fail("max_steps", static_cast<double>(s.max_steps), "must be at least 1");
}

namespace {

// The run's state before its first step: the exact prior population from each slot's stream.
SmcRunState initial_state(const Potential& base, double offset, const SmcSettings& settings, std::uint64_t replicate,
                          ParticleMover& mover) {
  const Eigen::Index n = settings.particles;
  SmcRunState s;
  s.engines.reserve(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i)
    s.engines.push_back(core::make_stream(settings.seed, core::StreamPurpose::smc_particle, settings.stream_width,
                                          replicate * static_cast<std::uint64_t>(n) + static_cast<std::uint64_t>(i)));
  s.resampling_engine =
      core::make_stream(settings.seed, core::StreamPurpose::smc_resampling, settings.stream_width, replicate);
  s.log_likelihoods.resize(n);
  s.result.particles = draw_initial_particles(base.dimension(), s.engines, mover, offset, s.log_likelihoods);
  s.result.initial_particles = s.result.particles;
  s.step_size = settings.initial_step_size;
  return s;
}

// One tempering step: the next β, the evidence increment, reweighting, resampling, moves.
void tempering_step(SmcRunState& s, const SmcSettings& settings, double offset, ParticleMover& mover,
                    const SmcReweighting& on_reweight) {
  const Eigen::Index n = settings.particles;
  SmcStepInfo info;
  info.beta = next_inverse_temperature(s.log_likelihoods, s.beta, settings.ess_fraction);
  const double delta = info.beta - s.beta;
  const Eigen::VectorXd increments =
      s.log_likelihoods.unaryExpr([delta](double x) { return std::isfinite(x) ? delta * x : x; });
  info.log_evidence_increment = log_sum_exp(increments) - std::log(static_cast<double>(n));
  info.ess_fraction = kish_effective_sample_size(increments) / static_cast<double>(n);
  const Eigen::VectorXd weights = normalized_weights(increments, "smc reweighting");
  if (on_reweight) on_reweight(s.result.particles, weights);
  const std::vector<Eigen::Index> ancestors =
      systematic_resampling(weights, n, core::uniform01(s.resampling_engine));
  s.result.particles = s.result.particles(Eigen::all, ancestors).eval();
  s.log_likelihoods = s.log_likelihoods(ancestors).eval();
  s.beta = info.beta;

  info.step_size = s.step_size;
  info.acceptance = mover.move(s.result.particles, s.engines, s.beta, s.step_size, offset, s.log_likelihoods).mean();
  s.step_size *= std::exp(kStepGain * (info.acceptance - settings.target_accept));
  s.result.log_evidence += info.log_evidence_increment;
  s.result.steps.push_back(info);
}

}  // namespace

void write_smc_steps(const std::vector<SmcStepInfo>& steps, core::BinaryWriter& out) {
  out.integer(static_cast<std::int64_t>(steps.size()));
  for (const SmcStepInfo& step : steps) {
    for (const double x : {step.beta, step.log_evidence_increment, step.ess_fraction, step.acceptance, step.step_size})
      out.real(x);
  }
}

std::vector<SmcStepInfo> read_smc_steps(core::BinaryReader& in, Eigen::Index max_steps) {
  const std::int64_t count = in.integer();
  if (count < 0 || count > max_steps)
    throw DataError("smc state: " + std::to_string(count) + " steps, more than smc.max_steps");
  std::vector<SmcStepInfo> steps(static_cast<std::size_t>(count));
  for (SmcStepInfo& step : steps) {
    for (double* x : {&step.beta, &step.log_evidence_increment, &step.ess_fraction, &step.acceptance, &step.step_size})
      *x = in.real();
  }
  return steps;
}

void write_smc_state(const SmcRunState& s, core::BinaryWriter& out) {
  out.matrix(s.result.initial_particles);
  out.matrix(s.result.particles);
  out.real(s.result.log_evidence);
  write_smc_steps(s.result.steps, out);
  out.vector(s.log_likelihoods);
  out.real(s.beta);
  out.real(s.step_size);
  for (const core::Engine& engine : s.engines) out.engine(engine);
  out.engine(s.resampling_engine);
}

SmcRunState read_smc_state(core::BinaryReader& in, const SmcSettings& settings, Eigen::Index dimension) {
  const Eigen::Index particles = settings.particles;
  SmcRunState s;
  s.result.initial_particles = in.matrix();
  s.result.particles = in.matrix();
  s.result.log_evidence = in.real();
  s.result.steps = read_smc_steps(in, settings.max_steps);
  s.log_likelihoods = in.vector();
  s.beta = in.real();
  s.step_size = in.real();
  for (Eigen::Index i = 0; i < particles; ++i) s.engines.push_back(in.engine());
  s.resampling_engine = in.engine();
  const auto fits = [&](const Eigen::MatrixXd& m) { return m.rows() == dimension && m.cols() == particles; };
  if (!fits(s.result.initial_particles) || !fits(s.result.particles) || s.log_likelihoods.size() != particles)
    throw DataError("smc state: the population does not fit this run (" + std::to_string(particles) +
                    " particles of dimension " + std::to_string(dimension) + ")");
  return s;
}

SmcResult run_tempered_smc(const Potential& base, double log_likelihood_offset,
                           const SmcSettings& settings, std::uint64_t replicate,
                           const SmcReweighting& on_reweight, const SmcContinuation& continuation) {
  validate(settings);
  ParticleMover mover(base, settings);
  SmcRunState s = continuation.start != nullptr
                      ? *continuation.start
                      : initial_state(base, log_likelihood_offset, settings, replicate, mover);
  while (s.beta < 1.0) {
    if (static_cast<Eigen::Index>(s.result.steps.size()) == settings.max_steps)
      throw NumericalError("smc: beta = " + std::to_string(s.beta) + " after smc.max_steps = " +
                           std::to_string(settings.max_steps) + " tempering steps");
    tempering_step(s, settings, log_likelihood_offset, mover, on_reweight);
    if (continuation.after_step && s.beta < 1.0) continuation.after_step(s);
  }
  s.result.log_likelihoods = std::move(s.log_likelihoods);
  return std::move(s.result);
}

}  // namespace kernelmc::sampling
