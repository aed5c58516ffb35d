#include "validation/study_units.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>

#include "core/error.hpp"
#include "sampling/chain_runner.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/detail/progress_counter.hpp"
#include "sampling/full_posterior.hpp"
#include "sampling/kernel_observables.hpp"
#include "sampling/prior_sampler.hpp"
#include "validation/posterior_run.hpp"
#include "validation/theory_comparison.hpp"

namespace kernelmc::validation {

namespace {

// Batches of exact prior networks for the pooled accumulator (any B gives the same pooled
// moments up to rounding; fixed so that the records do not depend on a setting).
constexpr Eigen::Index kPriorBatches = 32;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

PriorRecord compute_prior_record(const core::Config& config, const core::Dataset& data, Eigen::Index width) {
  const auto start = std::chrono::steady_clock::now();
  const core::ModelSpec spec = spec_at_width(config, data, width);
  const bool full_covariance = route_uses_chains(config.posterior.route);
  const sampling::PriorSamplingSettings settings{.networks = config.validation.prior_networks,
                                                 .batches = std::min(kPriorBatches, config.validation.prior_networks),
                                                 .seed = config.run.seed,
                                                 .track_covariance = full_covariance,
                                                 .projection = full_covariance ? Eigen::MatrixXd()
                                                                               : Eigen::MatrixXd(target_functional(data.targets))};
  const sampling::PriorKernelStatistics stats = sampling::sample_prior_statistics(spec, data.inputs, settings, {});
  PriorRecord r;
  r.width = width;
  r.networks = stats.networks;
  for (Eigen::Index l = 2; l <= stats.top_layer(); ++l) {
    const sampling::MeanCovarianceAccumulator pooled = stats.pooled(l);
    r.mean.push_back(pooled.mean());
    // A chain study keeps the full covariance (its target variance is uᵀΣu), a route study
    // only the target projection's variance.
    if (full_covariance) r.covariance.push_back(pooled.covariance());
    else r.target_variance.push_back(stats.pooled_projection(l).covariance()(0, 0));
  }
  r.seconds = seconds_since(start);
  return r;
}

ChainRecord chain_record(const sampling::KernelObservables& o, const sampling::ChainResult& r, Eigen::Index width) {
  ChainRecord rec;
  rec.width = width;
  rec.chain = r.chain;
  for (Eigen::Index l = 2; l <= o.top_layer(); ++l) {
    rec.batch_means.push_back(o.entry_batches(l).means());
    rec.summaries.push_back(o.summaries(l));
  }
  rec.batch_sizes = o.entry_batches(2).sizes().cast<double>();
  for (int s = 0; s < sampling::kKernelSummaryKinds; ++s)
    rec.summary_defined[static_cast<std::size_t>(s)] = o.summary_defined(static_cast<sampling::KernelSummaryKind>(s));
  rec.step_size = r.step_size;
  rec.mean_accept_stat = r.mean_accept_stat;
  rec.sampling_transitions = r.sampling_transitions;
  rec.divergences = r.sampling_divergences;
  rec.warmup_divergences = r.warmup_divergences;
  rec.max_tree_depth_hits = r.max_tree_depth_hits;
  rec.gradient_evaluations = static_cast<double>(r.gradient_evaluations);
  rec.energy = r.energy;
  rec.seconds = r.warmup_seconds + r.sampling_seconds;
  return rec;
}

// Chain `chain` of one width: the same streams and draws as chain `chain` of a run of all
// the width's chains (sampling::ChainSettings::first_chain), continued from `partial`'s state
// if it holds one.
ChainRecord compute_chain_record(const core::Config& config, const core::Dataset& data, Eigen::Index width,
                                 Eigen::Index chain, core::PartialStateStore* partial) {
  const core::ModelSpec spec = spec_at_width(config, data, width);
  sampling::ChainSettings cs = chain_settings(config.posterior, config.run.seed, width);
  cs.first_chain = chain;
  cs.chains = 1;
  const bool collapsed = config.posterior.form == core::PosteriorForm::collapsed;
  sampling::KernelObservables observables(spec, data,
                                          {.draws = config.posterior.draws,
                                           .batches = config.posterior.batches,
                                           .keep_entry_draws = false,
                                           .record_output = !collapsed});
  std::unique_ptr<sampling::Potential> target;
  if (collapsed)
    target = std::make_unique<sampling::CollapsedPosterior>(spec, data);
  else
    target = std::make_unique<sampling::FullPosterior>(spec, data);
  const std::vector<sampling::ChainResult> results =
      sampling::run_chains(*target, config.sampler, cs, {&observables}, {}, {partial});
  return chain_record(observables, results.front(), width);
}

// The route unit of one width (posterior.route ≠ chains), its SMC continued from `partial`'s
// state if it holds one. Its progress stays silent: the pool counts units.
RouteRecord compute_route_record(const core::Config& config, const core::Dataset& data, Eigen::Index width,
                                 core::PartialStateStore* partial) {
  SilentObserver silent;
  return route_record(run_posterior_route(config, config.posterior.route, data, width, silent, partial));
}

// The position of each of `units` in `all` (study order); ConfigError for a foreign unit.
std::vector<std::size_t> study_positions(const std::vector<StudyUnit>& all, const std::vector<StudyUnit>& units) {
  std::vector<std::size_t> positions;
  for (const StudyUnit& u : units) {
    const auto it = std::find(all.begin(), all.end(), u);
    if (it == all.end()) throw ConfigError(unit_name(u) + ": not a unit of this study");
    positions.push_back(static_cast<std::size_t>(it - all.begin()));
  }
  std::sort(positions.begin(), positions.end());
  positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
  return positions;
}

// One computed (or stored) unit: exactly one of the three records is used.
struct UnitResult {
  UnitRecord record;
  bool stored = false;  // taken from the UnitStore
  std::exception_ptr error;
};

UnitRecord compute_unit(const core::Config& config, const core::Dataset& data, const StudyUnit& u,
                        core::PartialStateStore* partial) {
  UnitRecord record;
  if (u.kind == StudyUnitKind::prior)
    record.prior = compute_prior_record(config, data, u.width);
  else if (u.kind == StudyUnitKind::route)
    record.route = compute_route_record(config, data, u.width, partial);
  else
    record.chain = compute_chain_record(config, data, u.width, u.chain, partial);
  return record;
}

}  // namespace

core::ModelSpec spec_at_width(const core::Config& config, const core::Dataset& data, Eigen::Index width) {
  core::ModelSettings model = config.model;
  model.widths = {width};
  return core::resolve_model(model, data.input_dim(), data.output_dim());
}

std::string unit_file_stem(const StudyUnit& u) {
  if (u.kind == StudyUnitKind::prior) return "prior_N" + std::to_string(u.width);
  if (u.kind == StudyUnitKind::route) return "route_N" + std::to_string(u.width);
  return "chain_N" + std::to_string(u.width) + "_c" + std::to_string(u.chain);
}

std::string unit_name(const StudyUnit& unit) {
  if (unit.kind == StudyUnitKind::prior) return "prior N=" + std::to_string(unit.width);
  if (unit.kind == StudyUnitKind::route) return "route N=" + std::to_string(unit.width);
  return "chain N=" + std::to_string(unit.width) + " c=" + std::to_string(unit.chain);
}

std::vector<StudyUnit> study_units(const core::Config& config) {
  std::vector<StudyUnit> units;
  for (const Eigen::Index N : config.validation.widths) {
    units.push_back({StudyUnitKind::prior, N, -1});
    if (!route_uses_chains(config.posterior.route)) {
      units.push_back({StudyUnitKind::route, N, -1});
      continue;
    }
    for (Eigen::Index c = 0; c < config.posterior.chains; ++c) units.push_back({StudyUnitKind::chain, N, c});
  }
  return units;
}

std::vector<StudyUnit> shard_units(const std::vector<StudyUnit>& units, Eigen::Index index, Eigen::Index count) {
  const auto U = static_cast<Eigen::Index>(units.size());
  if (count < 1 || index < 1 || index > count || count > U)
    throw ConfigError("--shard " + std::to_string(index) + "/" + std::to_string(count) +
                      ": must be k/K with 1 <= k <= K <= " + std::to_string(U) + " (the study's units)");
  const Eigen::Index begin = (index - 1) * U / count, end = index * U / count;
  return {units.begin() + begin, units.begin() + end};
}

double unit_cost(const core::Config& config, const core::Dataset& data, const StudyUnit& unit) {
  const double N = static_cast<double>(unit.width), P = static_cast<double>(data.size());
  if (unit.kind == StudyUnitKind::chain) {
    const core::PosteriorSettings& p = config.posterior;
    return static_cast<double>(p.warmup + p.draws * p.thin) * N * N * P;
  }
  const Eigen::Index networks = unit.kind == StudyUnitKind::route ? config.posterior.importance_networks
                                                                  : config.validation.prior_networks;
  return static_cast<double>(networks) * P * N * static_cast<double>(config.model.depth);
}

std::vector<StudyUnit> schedule_units(const core::Config& config, const core::Dataset& data,
                                      const std::vector<StudyUnit>& units) {
  std::vector<StudyUnit> order = units;
  std::stable_sort(order.begin(), order.end(), [&](const StudyUnit& a, const StudyUnit& b) {
    return unit_cost(config, data, a) > unit_cost(config, data, b);
  });
  return order;
}

StudyRecords compute_records(const core::Config& config, const core::Dataset& data,
                             const std::vector<StudyUnit>& units, Observer& observer, UnitStore* store) {
  core::validate(config);
  core::validate(data);
  const std::vector<StudyUnit> all = study_units(config);
  StudyRecords out;
  out.config = config;
  for (const std::size_t i : study_positions(all, units)) out.units.push_back(all[i]);
  const std::vector<StudyUnit> order = schedule_units(config, data, out.units);
  std::vector<UnitResult> results(order.size());
  std::int64_t stored = 0;
  for (std::size_t i = 0; store && i < order.size(); ++i) {
    results[i].stored = store->load(order[i], results[i].record);
    stored += results[i].stored ? 1 : 0;
  }
  const std::function<void(std::int64_t)> report = [&observer](std::int64_t done) { observer.advance(done); };
  observer.begin_stage("units", static_cast<std::int64_t>(order.size()));
  sampling::detail::ProgressCounter counter(report, static_cast<std::int64_t>(order.size()));
  if (stored > 0) counter.add(stored);
#pragma omp parallel for schedule(dynamic, 1)
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (results[i].stored) continue;
    try {
      const std::unique_ptr<core::PartialStateStore> partial = store ? store->partial(order[i]) : nullptr;
      results[i].record = compute_unit(config, data, order[i], partial.get());
      if (store) store->save(order[i], results[i].record);
    } catch (...) {
      results[i].error = std::current_exception();
    }
    counter.add(1);
  }
  observer.end_stage();
  // Records (and the first error) in study order.
  for (const StudyUnit& u : out.units) {
    const auto i = static_cast<std::size_t>(std::find(order.begin(), order.end(), u) - order.begin());
    if (results[i].error) std::rethrow_exception(results[i].error);
    if (u.kind == StudyUnitKind::prior)
      out.priors.push_back(std::move(results[i].record.prior));
    else if (u.kind == StudyUnitKind::route)
      out.routes.push_back(std::move(results[i].record.route));
    else
      out.chains.push_back(std::move(results[i].record.chain));
  }
  return out;
}

std::map<Eigen::Index, WidthRecords> records_by_width(const StudyRecords& records) {
  std::map<Eigen::Index, WidthRecords> out;
  for (const PriorRecord& r : records.priors) out[r.width].prior = &r;
  for (const ChainRecord& r : records.chains) out[r.width].chains.push_back(&r);
  for (const RouteRecord& r : records.routes) out[r.width].route = &r;
  const bool by_route = !route_uses_chains(records.config.posterior.route);
  for (const Eigen::Index N : records.config.validation.widths) {
    WidthRecords& w = out[N];
    const bool complete =
        w.prior != nullptr &&
        (by_route ? w.route != nullptr
                  : static_cast<Eigen::Index>(w.chains.size()) == records.config.posterior.chains);
    if (!complete)
      throw DataError("analysis: the records of width " + std::to_string(N) + " are incomplete");
    std::sort(w.chains.begin(), w.chains.end(),
              [](const ChainRecord* a, const ChainRecord* b) { return a->chain < b->chain; });
  }
  return out;
}

StudyRecords merge_records(const std::vector<StudyRecords>& parts) {
  if (parts.empty()) throw DataError("merge: no parts to merge");
  StudyRecords out;
  out.config = parts.front().config;
  // run.output_dir (each shard writes its own) and the thread counts (results never depend
  // on them) may differ between parts; every other setting must agree.
  for (std::size_t p = 1; p < parts.size(); ++p) {
    if (!(core::comparable_config(parts[p].config) == core::comparable_config(out.config)))
      throw DataError("merge: part " + std::to_string(p + 1) + " was run with a different config than part 1");
  }
  const std::vector<StudyUnit> all = study_units(out.config);
  std::vector<int> seen(all.size(), 0);
  for (const StudyRecords& part : parts) {
    for (const StudyUnit& u : part.units) {
      const auto it = std::find(all.begin(), all.end(), u);
      if (it == all.end()) throw DataError("merge: " + unit_name(u) + " is not a unit of this study");
      if (++seen[static_cast<std::size_t>(it - all.begin())] > 1)
        throw DataError("merge: " + unit_name(u) + " is present more than once");
    }
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (seen[i] == 0) throw DataError("merge: " + unit_name(all[i]) + " is missing");
  }
  out.units = all;
  for (const StudyUnit& u : all) {
    for (const StudyRecords& part : parts) {
      if (u.kind == StudyUnitKind::prior) {
        for (const PriorRecord& r : part.priors)
          if (r.width == u.width) out.priors.push_back(r);
      } else if (u.kind == StudyUnitKind::route) {
        for (const RouteRecord& r : part.routes)
          if (r.width == u.width) out.routes.push_back(r);
      } else {
        for (const ChainRecord& r : part.chains)
          if (r.width == u.width && r.chain == u.chain) out.chains.push_back(r);
      }
    }
  }
  if (out.priors.size() + out.chains.size() + out.routes.size() != all.size())
    throw DataError("merge: the parts' records do not match their unit lists");
  return out;
}

}  // namespace kernelmc::validation
