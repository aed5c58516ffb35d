#pragma once
// The convergence gate of every posterior run (`kernelmc sample`) and of every width of a
// validation study: Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), arXiv:1903.08008,
// §4.3 and §5: R̂ < 1.01 and bulk ESS ≥ 100 per chain (400 for four chains) for every
// defined scalar summary (trace, KTA, CKA of every layer) before trusting the posterior. An
// undefined diagnostic (NaN: constant or non-finite draws) fails with that reason.
#include <Eigen/Core>
#include <string>
#include <vector>

#include "core/settings/posterior.hpp"
#include "sampling/kernel_observables.hpp"
#include "validation/study_units.hpp"

namespace kernelmc::validation {

inline constexpr double kMaxRhat = 1.01;
inline constexpr double kMinEssBulk = 400.0;

// One scalar summary's diagnostics over all chains.
struct GatedSummary {
  std::string name;  // "layer 2 trace"
  double rhat = 0.0;
  double ess_bulk = 0.0;
  double ess_tail = 0.0;  // NaN when not computed
};

struct ConvergenceGate {
  bool passed = false;
  std::vector<std::string> failures;  // one line per failing summary
  double worst_rhat = 0.0;            // over the defined summaries (NaN-free: failures say why)
  double min_ess_bulk = 0.0;
  double min_ess_tail = 0.0;
  bool rhat_failed = false;           // some R̂ ≥ 1.01 or undefined (not only ESS short)
  // Kernel entries, checked the same way when their draws were kept (`kernelmc sample`);
  // reported, but they do not decide `passed`.
  bool entries_checked = false;
  bool entries_passed = false;
  Eigen::Index entries_failing = 0;   // entries with R̂ ≥ 1.01, bulk ESS < 400 or NaN
  double entries_worst_rhat = 0.0;
  double entries_min_ess_bulk = 0.0;
  // When it fails: posterior.draws (and warmup) to run instead, from the bulk-ESS rate per
  // draw (ESS grows linearly with the draws) with a 20 % margin, doubled when R̂ fails
  // (suggest_longer_run; 0 and empty until then).
  Eigen::Index suggested_draws = 0;
  Eigen::Index suggested_warmup = 0;
  std::string advice;  // one line: what failed and how much longer to run
};

// The gate over `summaries` (no summary: failed, "no defined summary to check").
ConvergenceGate gate_summaries(const std::vector<GatedSummary>& summaries);
// Fills suggested_draws, suggested_warmup and advice of a failed gate for a run of
// `posterior`; a passed gate is left as it is.
void suggest_longer_run(ConvergenceGate& gate, const core::PosteriorSettings& posterior);

// The gate of a posterior run's summary (with the entry check when entry draws were kept).
ConvergenceGate convergence_gate(const sampling::KernelPosteriorSummary& kernels);
// The gate of one width of a validation study from its chain records (all chains of the
// width, in chain order), with the suggestion for `posterior` when it fails.
ConvergenceGate convergence_gate(const std::vector<const ChainRecord*>& chains,
                                 const core::PosteriorSettings& posterior);

}  // namespace kernelmc::validation
