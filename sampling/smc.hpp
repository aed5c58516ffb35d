#pragma once
// Adaptive tempered sequential Monte Carlo (Del Moral, Doucet & Jasra 2006; Jasra, Stephens,
// Doucet & Tsagaris 2011; blackjax smc/adaptive_tempered.py and smc/tempered.py) for a target
// N(θ; 0, I)·L(θ) given as a potential U(θ) = ½‖θ‖² − log L(θ) + const
// (sampling/tempered_potential.hpp). Particles start as exact prior draws (β = 0); each step
//   1. picks the next β' by bisection (Boost.Math) so that the effective sample size of the
//      incremental weights e^{(β'−β) log L} is ess_fraction·n (with equal weights before the
//      step it equals the conditional ESS of Zhou, Johansen & Aston 2016), or β' = 1;
//   2. adds log mean_i e^{(β'−β) log L_i} to log Z (the standard unbiased estimator of Z);
//   3. resamples systematically (sampling/resampling.hpp);
//   4. moves every particle by rejuvenation_steps transitions of HMC or MALA
//      (sampling/hmc, sampling/mala; unit metric) targeting e^{−U_β'}, with one step size for
//      the population, rescaled after each step by exp(2(ā − target_accept)) from the
//      population's mean acceptance ā.
// The run ends after the step that reaches β = 1: the final population is equally weighted.
//
// Determinism (STYLE.md §6): particle slot i of replicate r owns the stream
// make_stream(seed, smc_particle, stream_width, r·n + i) for its initial draw and all its
// moves; the resampling uniforms come from make_stream(seed, smc_resampling, stream_width, r).
// Moves run in parallel over particles (OpenMP, one sampler per thread), everything else in
// index order, so the result is bit-identical for any thread count.
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/checkpoint_io.hpp"
#include "core/rng.hpp"
#include "core/settings/sampler.hpp"
#include "sampling/potential.hpp"

namespace kernelmc::sampling {

struct SmcSettings {
  Eigen::Index particles = 512;  // n
  // Target ESS/n of every tempering step; 0.5 is the usual choice (Jasra et al. 2011, and
  // blackjax's examples): about log(1/0.5) nats of information per step.
  double ess_fraction = 0.5;
  int rejuvenation_steps = 5;                   // move transitions per particle per step
  core::SamplerKind move = core::SamplerKind::hmc;  // hmc or mala
  double initial_step_size = 0.2;               // ε (HMC) or h (MALA) of the first move
  double integration_time = 1.0;                // HMC trajectory length T (⌊T/ε⌋ leapfrog steps)
  // Population acceptance the step size is steered to: 0.65 for HMC (Beskos, Pillai,
  // Roberts, Sanz-Serna & Stuart 2013: 0.651), 0.574 for MALA (Roberts & Rosenthal 1998).
  double target_accept = 0.65;
  Eigen::Index max_steps = 2000;                // tempering steps before the run fails
  std::uint64_t seed = 0;
  std::uint64_t stream_width = 0;               // the width id of the streams (model width)
};

// Throws ConfigError naming smc.<field> for a setting out of its range.
void validate(const SmcSettings& settings);

// What one tempering step did.
struct SmcStepInfo {
  double beta = 0.0;                    // β after the step
  double log_evidence_increment = 0.0;  // log mean_i e^{Δβ log L_i}
  double ess_fraction = 0.0;            // ESS/n of the incremental weights (before resampling)
  double acceptance = 0.0;              // mean acceptance of the moves
  double step_size = 0.0;               // step size the moves used
};

struct SmcResult {
  Eigen::MatrixXd initial_particles;  // dim × n: the exact prior draws (β = 0)
  Eigen::MatrixXd particles;          // dim × n: the final, equally weighted population (β = 1)
  Eigen::VectorXd log_likelihoods;    // log L of the final particles
  double log_evidence = 0.0;          // log Ẑ = Σ_steps log_evidence_increment
  std::vector<SmcStepInfo> steps;
};

// Called at every tempering step before resampling, on the calling thread, with the
// population (dim × n, targeting e^{−U_β}) and its normalised incremental weights
// w̃_i ∝ e^{(β'−β) log L_i}: Σ_i w̃_i f(θ_i) − mean_i f(θ_i) estimates E_β'[f] − E_β[f] on
// the same draws (the difference estimator of smc_posterior.hpp).
using SmcReweighting = std::function<void(const Eigen::MatrixXd& particles, const Eigen::VectorXd& weights)>;

// An SMC run between two tempering steps: everything the next step reads, so that a run
// continued from it (a checkpoint, validation/study_checkpoint.hpp) ends with the bits of an
// uninterrupted run.
struct SmcRunState {
  SmcResult result;                     // particles (at β), initial particles, log Ẑ so far, steps so far
  Eigen::VectorXd log_likelihoods;      // log L of the particles
  double beta = 0.0;
  double step_size = 0.0;               // ε of the next moves
  std::vector<core::Engine> engines;    // per particle slot
  core::Engine resampling_engine;
};
// A run's step records bit for bit, and those read back (DataError for more than max_steps).
void write_smc_steps(const std::vector<SmcStepInfo>& steps, core::BinaryWriter& out);
std::vector<SmcStepInfo> read_smc_steps(core::BinaryReader& in, Eigen::Index max_steps);
// The state bit for bit, and one read back (DataError unless it has settings.particles
// particles of dimension `dimension`).
void write_smc_state(const SmcRunState& state, core::BinaryWriter& out);
SmcRunState read_smc_state(core::BinaryReader& in, const SmcSettings& settings, Eigen::Index dimension);

// Where a run starts and what it reports between steps: `start` (not null) continues that
// state instead of drawing the prior population; `after_step` is called after every
// tempering step that does not end the run, on the calling thread (to save the state).
struct SmcContinuation {
  const SmcRunState* start = nullptr;
  std::function<void(const SmcRunState&)> after_step;
};

// One SMC run (replicate index `replicate`) for the target N(0, I)·L with
// log L(θ) = ½‖θ‖² − U(θ) + log_likelihood_offset (U = base). Throws ConfigError for bad
// settings, NumericalError when the likelihood vanishes on too many particles to keep the
// ESS target (every weight −inf) or β has not reached 1 after max_steps steps.
SmcResult run_tempered_smc(const Potential& base, double log_likelihood_offset,
                           const SmcSettings& settings, std::uint64_t replicate,
                           const SmcReweighting& on_reweight = {},
                           const SmcContinuation& continuation = {});

}  // namespace kernelmc::sampling
