#include "validation/posterior_run.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <sstream>

#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/full_posterior.hpp"

namespace kernelmc::validation {

namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

sampling::ChainSettings chain_settings(const PosteriorRunSettings& s, std::uint64_t seed, const core::ModelSpec& spec) {
  return {.chains = s.chains,
          .warmup = s.warmup,
          .draws = s.draws,
          .thin = s.thin,
          .seed = seed,
          .stream_width = static_cast<std::uint64_t>(spec.widths.front())};
}

// R̂ and bulk ESS of one quantity against the gate; appends the reason it fails.
bool passes(double rhat, double ess_bulk, const std::string& name, std::vector<std::string>* failures) {
  std::string reason;
  if (std::isnan(rhat) || std::isnan(ess_bulk))
    reason = "R-hat or bulk ESS undefined (constant or non-finite draws)";
  else if (rhat >= kMaxRhat)
    reason = "R-hat " + number(rhat) + " >= " + number(kMaxRhat);
  else if (ess_bulk < kMinEssBulk)
    reason = "bulk ESS " + number(ess_bulk) + " < " + number(kMinEssBulk);
  if (reason.empty()) return true;
  if (failures != nullptr) failures->push_back(name + ": " + reason);
  return false;
}

}  // namespace

ConvergenceGate convergence_gate(const sampling::KernelPosteriorSummary& kernels) {
  ConvergenceGate g;
  g.passed = true;
  g.min_ess_bulk = g.min_ess_tail = std::numeric_limits<double>::infinity();
  bool any = false;
  for (const auto& layer : kernels.layers) {
    for (const auto& s : layer.summaries) {
      if (!s.defined) continue;
      const std::string name =
          "layer " + std::to_string(layer.layer) + " " + std::string(sampling::kernel_summary_name(s.kind));
      g.passed = passes(s.rhat, s.ess_bulk, name, &g.failures) && g.passed;
      if (!std::isnan(s.rhat)) g.worst_rhat = std::max(g.worst_rhat, s.rhat);
      if (!std::isnan(s.ess_bulk)) g.min_ess_bulk = std::min(g.min_ess_bulk, s.ess_bulk);
      if (!std::isnan(s.ess_tail)) g.min_ess_tail = std::min(g.min_ess_tail, s.ess_tail);
      any = true;
    }
  }
  if (!any) {
    g.passed = false;
    g.failures.push_back("no defined summary to check");
  }
  if (!std::isfinite(g.min_ess_bulk)) g.min_ess_bulk = 0.0;
  if (!std::isfinite(g.min_ess_tail)) g.min_ess_tail = 0.0;

  g.entries_checked = kernels.entry_draws_kept;
  if (g.entries_checked) {
    g.entries_min_ess_bulk = std::numeric_limits<double>::infinity();
    for (const auto& layer : kernels.layers) {
      for (Eigen::Index a = 0; a < kernels.points; ++a) {
        for (Eigen::Index b = a; b < kernels.points; ++b) {
          const double r = layer.rhat(a, b), e = layer.ess_bulk(a, b);
          if (!passes(r, e, "", nullptr)) ++g.entries_failing;
          if (!std::isnan(r)) g.entries_worst_rhat = std::max(g.entries_worst_rhat, r);
          if (!std::isnan(e)) g.entries_min_ess_bulk = std::min(g.entries_min_ess_bulk, e);
        }
      }
    }
    if (!std::isfinite(g.entries_min_ess_bulk)) g.entries_min_ess_bulk = 0.0;
    g.entries_passed = g.entries_failing == 0;
  }
  return g;
}

PosteriorRunResult run_posterior(const core::Config& config, const PosteriorRunSettings& posterior,
                                 const core::Dataset& data, Observer& observer) {
  const auto start = std::chrono::steady_clock::now();
  core::validate(config);
  validate(posterior);
  core::validate(data);

  PosteriorRunResult result;
  result.config = config;
  result.posterior = posterior;
  result.spec = core::resolve_model(config.model, data.input_dim(), data.output_dim());
  result.dataset_name = data.name;
  result.targets = data.targets;
  result.chain_settings = chain_settings(posterior, config.run.seed, result.spec);
  const Eigen::Index top = result.spec.depth() + 1;
  for (std::size_t i = 0; i < posterior.draw_layers.size(); ++i) {
    const Eigen::Index l = posterior.draw_layers[i];
    if (l < 2 || l > top)
      throw ConfigError("posterior.draw_layers[" + std::to_string(i + 1) + "] = " + std::to_string(l) +
                        ": must be a layer in [2, L+1 = " + std::to_string(top) + "]");
  }
  const sampling::ChainSettings& cs = result.chain_settings;

  const Eigen::Index P = data.size();
  const double entry_values = static_cast<double>(core::triangle_size(P)) *
                              static_cast<double>(result.spec.depth()) * static_cast<double>(posterior.draws) *
                              static_cast<double>(posterior.chains);
  const bool keep_entries = entry_values <= posterior.max_entry_draw_values;
  if (!keep_entries) {
    std::ostringstream note;
    note << "kernel entries: batch-means errors only (no per-entry R-hat/ESS, no entry draws written): "
         << "K*L*draws*chains = " << entry_values << " values > posterior.max_entry_draw_values = "
         << posterior.max_entry_draw_values;
    result.entry_draws_note = note.str();
  }
  const bool collapsed = posterior.form == sampling::PosteriorForm::collapsed;
  const sampling::ObservableSettings observable_settings{.draws = posterior.draws,
                                                         .batches = posterior.batches,
                                                         .keep_entry_draws = keep_entries,
                                                         .record_output = !collapsed || posterior.draw_readout};

  // One recorder per chain, built before the parallel region (STYLE.md §6).
  std::vector<sampling::KernelObservables> observables;
  observables.reserve(static_cast<std::size_t>(cs.chains));
  for (Eigen::Index c = 0; c < cs.chains; ++c) observables.emplace_back(result.spec, data, observable_settings);
  std::unique_ptr<sampling::CollapsedPosterior> collapsed_target;
  std::unique_ptr<sampling::FullPosterior> full_target;
  std::vector<std::unique_ptr<sampling::ReadoutCompletion>> completions;
  std::vector<sampling::DrawRecorder*> recorders;
  if (collapsed) {
    collapsed_target = std::make_unique<sampling::CollapsedPosterior>(result.spec, data);
  } else {
    full_target = std::make_unique<sampling::FullPosterior>(result.spec, data);
  }
  for (Eigen::Index c = 0; c < cs.chains; ++c) {
    sampling::DrawRecorder& observer_of_chain = observables[static_cast<std::size_t>(c)];
    if (collapsed && posterior.draw_readout) {
      completions.push_back(
          std::make_unique<sampling::ReadoutCompletion>(*collapsed_target, cs, c, observer_of_chain));
      recorders.push_back(completions.back().get());
    } else {
      recorders.push_back(&observer_of_chain);
    }
  }
  const sampling::Potential& target =
      collapsed ? static_cast<const sampling::Potential&>(*collapsed_target) : *full_target;

  observer.begin_stage("sampling", sampling::total_transitions(cs));
  result.chains = sampling::run_chains(target, config.sampler, cs, recorders,
                                       [&observer](std::int64_t done) { observer.advance(done); });
  observer.end_stage();

  result.sampler_summary = sampling::summarize_sampler(result.chains);
  result.kernels = sampling::summarize_observables(observables);
  result.gate = convergence_gate(result.kernels);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace kernelmc::validation
