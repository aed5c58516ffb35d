#include "validation/posterior_run.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <sstream>

#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/detail/progress_counter.hpp"
#include "sampling/full_posterior.hpp"

namespace kernelmc::validation {

sampling::ChainSettings chain_settings(const core::PosteriorSettings& posterior, std::uint64_t seed,
                                       Eigen::Index width) {
  return {.chains = posterior.chains,
          .warmup = posterior.warmup,
          .draws = posterior.draws,
          .thin = posterior.thin,
          .seed = seed,
          .stream_width = static_cast<std::uint64_t>(width)};
}

namespace {

void check_draw_layers(const core::PosteriorSettings& posterior, Eigen::Index top) {
  for (std::size_t i = 0; i < posterior.draw_layers.size(); ++i) {
    const Eigen::Index l = posterior.draw_layers[i];
    if (l < 2 || l > top)
      throw ConfigError("posterior.draw_layers[" + std::to_string(i + 1) + "] = " + std::to_string(l) +
                        ": must be a layer in [2, L+1 = " + std::to_string(top) + "]");
  }
}

// Why the entry draws are not kept (too many values), or empty when they are.
std::string entry_draws_note(const core::PosteriorSettings& posterior, const core::ModelSpec& spec, Eigen::Index P) {
  const double entry_values = static_cast<double>(core::triangle_size(P)) * static_cast<double>(spec.depth()) *
                              static_cast<double>(posterior.draws) * static_cast<double>(posterior.chains);
  if (entry_values <= posterior.max_entry_draw_values) return {};
  std::ostringstream note;
  note << "kernel entries: batch-means errors only (no per-entry R-hat/ESS, no entry draws written): "
       << "K*L*draws*chains = " << entry_values << " values > posterior.max_entry_draw_values = "
       << posterior.max_entry_draw_values;
  return note.str();
}

// The potential of the posterior form and one recorder per chain (the chain's observables,
// behind a readout completion when the collapsed form draws the readout), built before the
// parallel region (STYLE.md §6).
struct ChainTargets {
  std::unique_ptr<sampling::CollapsedPosterior> collapsed;
  std::unique_ptr<sampling::FullPosterior> full;
  std::vector<std::unique_ptr<sampling::ReadoutCompletion>> completions;
  std::vector<sampling::DrawRecorder*> recorders;
  const sampling::Potential& potential() const {
    return collapsed ? static_cast<const sampling::Potential&>(*collapsed) : *full;
  }
};

void build_targets(ChainTargets& t, const PosteriorRunResult& result, const core::Dataset& data,
                   std::vector<sampling::KernelObservables>& observables) {
  const core::PosteriorSettings& posterior = result.config.posterior;
  if (posterior.form == sampling::PosteriorForm::collapsed)
    t.collapsed = std::make_unique<sampling::CollapsedPosterior>(result.spec, data);
  else
    t.full = std::make_unique<sampling::FullPosterior>(result.spec, data);
  for (std::size_t c = 0; c < observables.size(); ++c) {
    if (t.collapsed && posterior.draw_readout) {
      t.completions.push_back(std::make_unique<sampling::ReadoutCompletion>(
          *t.collapsed, result.chain_settings, static_cast<Eigen::Index>(c), observables[c]));
      t.recorders.push_back(t.completions.back().get());
    } else {
      t.recorders.push_back(&observables[c]);
    }
  }
}

// Runs the chains not in `store` one by one from a parallel pool, saving each when done;
// the chains `store` holds are taken from it. Progress as run_chains', over all chains.
std::vector<sampling::ChainResult> run_stored_chains(const ChainTargets& targets, const core::Config& config,
                                                     const sampling::ChainSettings& cs,
                                                     std::vector<sampling::KernelObservables>& observables,
                                                     Observer& observer, ChainStore& store) {
  const auto C = static_cast<std::size_t>(cs.chains);
  std::vector<sampling::ChainResult> results(C);
  std::vector<char> stored(C, 0);
  std::vector<std::exception_ptr> errors(C);
  for (std::size_t c = 0; c < C; ++c)
    stored[c] = store.load(static_cast<Eigen::Index>(c), results[c], observables[c]) ? 1 : 0;
  const std::function<void(std::int64_t)> report = [&observer](std::int64_t done) { observer.advance(done); };
  sampling::detail::ProgressCounter counter(report, sampling::total_transitions(cs));
  sampling::ChainSettings one = cs;
  one.chains = 1;
  counter.add(std::count(stored.begin(), stored.end(), 1) * sampling::total_transitions(one));
#pragma omp parallel for schedule(dynamic, 1)
  for (std::size_t c = 0; c < C; ++c) {
    if (stored[c]) continue;
    sampling::ChainSettings settings = one;
    settings.first_chain = static_cast<Eigen::Index>(c);
    std::int64_t reported = 0;
    try {
      const std::unique_ptr<core::PartialStateStore> partial = store.partial(static_cast<Eigen::Index>(c));
      results[c] = sampling::run_chains(targets.potential(), config.sampler, settings, {targets.recorders[c]},
                                        [&counter, &reported](std::int64_t done) {
                                          counter.add(done - reported);
                                          reported = done;
                                        },
                                        {partial.get()})
                       .front();
      store.save(static_cast<Eigen::Index>(c), results[c], observables[c]);
    } catch (...) {
      errors[c] = std::current_exception();
    }
  }
  for (const std::exception_ptr& error : errors)
    if (error) std::rethrow_exception(error);
  if (counter.error()) std::rethrow_exception(counter.error());
  return results;
}

}  // namespace

PosteriorRunResult run_posterior(const core::Config& config, const core::Dataset& data, Observer& observer,
                                 ChainStore* store) {
  const auto start = std::chrono::steady_clock::now();
  core::validate(config);
  core::validate(data);
  const core::PosteriorSettings& posterior = config.posterior;
  PosteriorRunResult result;
  result.config = config;
  result.spec = core::resolve_model(config.model, data.input_dim(), data.output_dim());
  result.dataset_name = data.name;
  result.targets = data.targets;
  result.chain_settings = chain_settings(posterior, config.run.seed, result.spec.widths.front());
  check_draw_layers(posterior, result.spec.depth() + 1);
  result.entry_draws_note = entry_draws_note(posterior, result.spec, data.size());
  const bool collapsed = posterior.form == sampling::PosteriorForm::collapsed;
  const sampling::ObservableSettings observable_settings{.draws = posterior.draws,
                                                         .batches = posterior.batches,
                                                         .keep_entry_draws = result.entry_draws_note.empty(),
                                                         .record_output = !collapsed || posterior.draw_readout};
  const sampling::ChainSettings& cs = result.chain_settings;
  std::vector<sampling::KernelObservables> observables;
  observables.reserve(static_cast<std::size_t>(cs.chains));
  for (Eigen::Index c = 0; c < cs.chains; ++c) observables.emplace_back(result.spec, data, observable_settings);
  ChainTargets targets;
  build_targets(targets, result, data, observables);

  observer.begin_stage("sampling", sampling::total_transitions(cs));
  if (store)
    result.chains = run_stored_chains(targets, config, cs, observables, observer, *store);
  else
    result.chains = sampling::run_chains(targets.potential(), config.sampler, cs, targets.recorders,
                                         [&observer](std::int64_t done) { observer.advance(done); });
  observer.end_stage();
  result.sampler_summary = sampling::summarize_sampler(result.chains);
  result.kernels = sampling::summarize_observables(observables);
  result.gate = convergence_gate(result.kernels);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace kernelmc::validation
