#pragma once
// The posterior run (posterior-sampler issue, `kernelmc sample`): MCMC chains on the
// posterior of THEORY.md §1.4 (full) or §1.5 (collapsed) for a config and data set, the
// streamed kernel observables of every layer (sampling/kernel_observables.hpp), the
// sampler's health, and a convergence gate. Algorithms from sampling/, files from
// validation/posterior_report.hpp: this layer only wires them (Stan's services).
#include <Eigen/Core>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "core/model_spec.hpp"
#include "sampling/chain_runner.hpp"
#include "sampling/kernel_observables.hpp"
#include "validation/observer.hpp"

namespace kernelmc::validation {

// [posterior] (core/config.hpp; core::validate checks it, run_posterior checks
// draw_layers against the model).
using PosteriorRunSettings = core::PosteriorSettings;

// Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), arXiv:1903.08008, §4.3 and §5:
// R̂ < 1.01 and bulk ESS > 100 per chain (400 for four chains) before trusting a summary.
inline constexpr double kMaxRhat = 1.01;
inline constexpr double kMinEssBulk = 400.0;

// Whether every defined scalar summary (trace, KTA, CKA of every layer) has R̂ < 1.01 and
// bulk ESS ≥ 400. An undefined diagnostic (NaN: constant or non-finite draws) fails
// with that reason. Kernel entries are checked the same way when their draws were kept;
// that check is reported but does not decide `passed`.
struct ConvergenceGate {
  bool passed = false;
  std::vector<std::string> failures;  // one line per failing summary
  double worst_rhat = 0.0;            // over the defined summaries (NaN-free: failures say why)
  double min_ess_bulk = 0.0;
  double min_ess_tail = 0.0;
  bool entries_checked = false;       // entry draws were kept
  bool entries_passed = false;
  Eigen::Index entries_failing = 0;   // entries with R̂ ≥ 1.01, bulk ESS < 400 or NaN
  double entries_worst_rhat = 0.0;
  double entries_min_ess_bulk = 0.0;
};
ConvergenceGate convergence_gate(const sampling::KernelPosteriorSummary& kernels);

struct PosteriorRunResult {
  core::Config config;                  // as resolved; config.sampler is the sampler used
  PosteriorRunSettings posterior;
  core::ModelSpec spec;
  std::string dataset_name;
  Eigen::MatrixXd targets;              // Y, for the report
  sampling::ChainSettings chain_settings;
  std::vector<sampling::ChainResult> chains;
  sampling::SamplerSummary sampler_summary;
  sampling::KernelPosteriorSummary kernels;
  ConvergenceGate gate;
  std::string entry_draws_note;         // why entry draws were not kept (empty if they were)
  double seconds = 0.0;                 // wall time of the chains and the summary
};

// Runs the chains of `posterior` with config.sampler on `data` for config.model and
// config.run.seed, and summarises them. Validates every input (ConfigError naming the
// field, DataError); NumericalError if a chain cannot start or a kernel is not finite.
// Progress: one stage, "sampling", counted in transitions.
PosteriorRunResult run_posterior(const core::Config& config, const PosteriorRunSettings& posterior,
                                 const core::Dataset& data, Observer& observer);

}  // namespace kernelmc::validation
