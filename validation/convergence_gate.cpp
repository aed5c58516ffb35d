#include "validation/convergence_gate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "sampling/diagnostics/ess.hpp"
#include "sampling/diagnostics/rhat.hpp"
#include "validation/detail/report_json.hpp"

namespace kernelmc::validation {

namespace {

std::string number(double v, const char* format) { return detail::printf_number(format, v); }

// Why R̂ and bulk ESS fail the gate; empty when they pass.
std::string failure_reason(double rhat, double ess_bulk) {
  if (std::isnan(rhat) || std::isnan(ess_bulk)) return "R-hat or bulk ESS undefined (constant or non-finite draws)";
  if (rhat >= kMaxRhat) return "R-hat " + number(rhat, "%.4g") + " >= " + number(kMaxRhat, "%.4g");
  if (ess_bulk < kMinEssBulk) return "bulk ESS " + number(ess_bulk, "%.0f") + " < " + number(kMinEssBulk, "%.0f");
  return {};
}

double finite_or_zero(double v) { return std::isfinite(v) ? v : 0.0; }

void check_entries(ConvergenceGate& g, const sampling::KernelPosteriorSummary& kernels) {
  g.entries_checked = true;
  g.entries_min_ess_bulk = std::numeric_limits<double>::infinity();
  for (const auto& layer : kernels.layers) {
    for (Eigen::Index a = 0; a < kernels.points; ++a) {
      for (Eigen::Index b = a; b < kernels.points; ++b) {
        const double r = layer.rhat(a, b), e = layer.ess_bulk(a, b);
        if (!failure_reason(r, e).empty()) ++g.entries_failing;
        if (!std::isnan(r)) g.entries_worst_rhat = std::max(g.entries_worst_rhat, r);
        if (!std::isnan(e)) g.entries_min_ess_bulk = std::min(g.entries_min_ess_bulk, e);
      }
    }
  }
  g.entries_min_ess_bulk = finite_or_zero(g.entries_min_ess_bulk);
  g.entries_passed = g.entries_failing == 0;
}

std::string summary_name(Eigen::Index layer, int kind) {
  return "layer " + std::to_string(layer) + " " +
         std::string(sampling::kernel_summary_name(static_cast<sampling::KernelSummaryKind>(kind)));
}

}  // namespace

ConvergenceGate gate_summaries(const std::vector<GatedSummary>& summaries) {
  ConvergenceGate g;
  g.passed = !summaries.empty();
  g.min_ess_bulk = g.min_ess_tail = std::numeric_limits<double>::infinity();
  for (const GatedSummary& s : summaries) {
    const std::string reason = failure_reason(s.rhat, s.ess_bulk);
    if (!reason.empty()) {
      g.failures.push_back(s.name + ": " + reason);
      g.passed = false;
      g.rhat_failed = g.rhat_failed || std::isnan(s.rhat) || std::isnan(s.ess_bulk) || s.rhat >= kMaxRhat;
    }
    if (!std::isnan(s.rhat)) g.worst_rhat = std::max(g.worst_rhat, s.rhat);
    if (!std::isnan(s.ess_bulk)) g.min_ess_bulk = std::min(g.min_ess_bulk, s.ess_bulk);
    if (!std::isnan(s.ess_tail)) g.min_ess_tail = std::min(g.min_ess_tail, s.ess_tail);
  }
  if (summaries.empty()) g.failures.push_back("no defined summary to check");
  g.min_ess_bulk = finite_or_zero(g.min_ess_bulk);
  g.min_ess_tail = finite_or_zero(g.min_ess_tail);
  return g;
}

void suggest_longer_run(ConvergenceGate& g, const core::PosteriorSettings& posterior) {
  if (g.passed) return;
  // ESS grows linearly with the draws: draws·400/ESS_min, with a 20 % margin.
  double factor = g.min_ess_bulk > 0.0 ? 1.2 * kMinEssBulk / g.min_ess_bulk : 2.0;
  if (g.rhat_failed) factor = std::max(factor, 2.0);
  factor = std::max(factor, 1.2);
  g.suggested_draws = static_cast<Eigen::Index>(std::ceil(factor * static_cast<double>(posterior.draws)));
  g.suggested_warmup = g.rhat_failed ? 2 * posterior.warmup : posterior.warmup;
  std::ostringstream advice;
  advice << g.failures.front();
  if (g.failures.size() > 1) advice << " (and " << g.failures.size() - 1 << " more)";
  advice << "; bulk ESS " << number(g.min_ess_bulk, "%.0f") << " from " << posterior.draws
         << " draws per chain: run posterior.draws = " << g.suggested_draws;
  if (g.rhat_failed) advice << " and posterior.warmup = " << g.suggested_warmup;
  g.advice = advice.str();
}

ConvergenceGate convergence_gate(const sampling::KernelPosteriorSummary& kernels) {
  std::vector<GatedSummary> summaries;
  for (const auto& layer : kernels.layers) {
    for (const auto& s : layer.summaries) {
      if (s.defined)
        summaries.push_back({summary_name(layer.layer, static_cast<int>(s.kind)), s.rhat, s.ess_bulk, s.ess_tail});
    }
  }
  ConvergenceGate g = gate_summaries(summaries);
  if (kernels.entry_draws_kept) check_entries(g, kernels);
  return g;
}

ConvergenceGate convergence_gate(const std::vector<const ChainRecord*>& chains,
                                 const core::PosteriorSettings& posterior) {
  const Eigen::Index draws = chains.front()->summaries.front().rows();
  const auto C = static_cast<Eigen::Index>(chains.size());
  std::vector<GatedSummary> summaries;
  for (std::size_t li = 0; li < chains.front()->summaries.size(); ++li) {
    for (int s = 0; s < sampling::kKernelSummaryKinds; ++s) {
      if (!chains.front()->summary_defined[static_cast<std::size_t>(s)]) continue;
      Eigen::MatrixXd series(draws, C);
      for (Eigen::Index c = 0; c < C; ++c) series.col(c) = chains[static_cast<std::size_t>(c)]->summaries[li].col(s);
      summaries.push_back({summary_name(static_cast<Eigen::Index>(li) + 2, s), sampling::rhat(series),
                           sampling::ess_bulk(series), std::numeric_limits<double>::quiet_NaN()});
    }
  }
  ConvergenceGate g = gate_summaries(summaries);
  suggest_longer_run(g, posterior);
  return g;
}

}  // namespace kernelmc::validation
