#include "sampling/chain_runner.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <omp.h>

#include "core/error.hpp"
#include "sampling/detail/progress_counter.hpp"
#include "sampling/detail/threads.hpp"
#include "sampling/diagnostics/hmc_health.hpp"
#include "sampling/integrators.hpp"

namespace kernelmc::sampling {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One chain between two transitions: with the sampler's state, what a partial state holds.
struct RunningChain {
  PhasePoint state;
  core::Engine engine;
  ChainResult result;
  Eigen::Index done = 0;    // transitions done, warmup then sampling
  double accept_sum = 0.0;  // Σ accept_stat over the sampling transitions done
};

// The chain's partial state (the order restore_chain reads).
void save_chain(const RunningChain& chain, const Sampler& sampler, const DrawRecorder* recorder,
                core::PartialStateStore& partial) {
  core::BinaryWriter out;
  out.integer(chain.done);
  out.real(chain.accept_sum);
  write_phase_point(chain.state, out);
  out.engine(chain.engine);
  write_chain_result(chain.result, out);
  sampler.save_state(out);
  if (recorder != nullptr) recorder->save_state(out);
  partial.save(out);
}

// The chain as its last partial state left it, or false when the store holds none.
bool restore_chain(RunningChain& chain, Sampler& sampler, DrawRecorder* recorder, core::PartialStateStore& partial,
                   Eigen::Index dimension, Eigen::Index chain_index) {
  std::optional<core::BinaryReader> in = partial.load();
  if (!in) return false;
  try {
    chain.done = in->integer();
    chain.accept_sum = in->real();
    chain.state = read_phase_point(*in, dimension);
    chain.engine = in->engine();
    chain.result = read_chain_result(*in);
    if (chain.result.chain != chain_index)
      throw DataError("holds chain " + std::to_string(chain.result.chain) + ", not " + std::to_string(chain_index));
    sampler.restore_state(*in);
    if (recorder != nullptr) recorder->restore_state(*in);
    in->finish();
  } catch (const DataError& e) {
    const std::string message = e.what();
    if (message.rfind(in->source(), 0) == 0) throw;
    throw DataError(in->source() + ": " + message);
  }
  return true;
}

// A fresh chain c: its prior draw, its engine, its result's per-draw vectors sized.
void start_chain(RunningChain& chain, Potential& potential, const ChainSettings& settings, Eigen::Index c) {
  chain.state = make_phase_point(potential, initial_point(settings, c, potential.dimension()));
  chain.engine = core::make_stream(settings.seed, core::StreamPurpose::chain_momentum, settings.stream_width,
                                   static_cast<std::uint64_t>(c));
  ChainResult& r = chain.result;
  r.chain = c;
  const Eigen::Index n = settings.draws;
  r.energy.resize(n);
  r.accept_stat.resize(n);
  r.divergent.resize(n);
  r.tree_depth.resize(n);
  r.n_leapfrog.resize(n);
}

// The clock of one phase of a chain, counting the seconds a restored chain spent before.
std::chrono::steady_clock::time_point phase_start(double seconds_before) {
  return std::chrono::steady_clock::now() -
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds_before));
}

// The warmup transitions not yet done, then end_warmup (once: a chain restored after it
// is no longer in warmup).
void run_warmup(RunningChain& chain, Sampler& sampler, const ChainSettings& settings, DrawRecorder* recorder,
                core::PartialStateStore* partial, detail::ProgressCounter& counter) {
  ChainResult& r = chain.result;
  const auto start = phase_start(r.warmup_seconds);
  while (chain.done < settings.warmup && !counter.cancelled()) {
    const TransitionInfo info = sampler.transition(chain.state, chain.engine);
    r.gradient_evaluations += info.n_leapfrog;
    r.warmup_divergences += info.divergent ? 1 : 0;
    ++chain.done;
    counter.add(1);
    if (partial != nullptr && partial->due()) {
      r.warmup_seconds = seconds_since(start);
      save_chain(chain, sampler, recorder, *partial);
    }
  }
  if (sampler.in_warmup()) sampler.end_warmup();
  if (r.sampling_transitions == 0) {  // not a chain restored inside its sampling phase
    r.step_size = sampler.step_size();
    r.inverse_mass = sampler.metric().inverse_mass();
    r.warmup_seconds = seconds_since(start);
  }
}

// The kept draws not yet done, each after `thin` transitions.
void run_sampling(RunningChain& chain, Sampler& sampler, const ChainSettings& settings, DrawRecorder* recorder,
                  core::PartialStateStore* partial, detail::ProgressCounter& counter) {
  ChainResult& r = chain.result;
  const auto start = phase_start(r.sampling_seconds);
  const int depth_cap = sampler.settings().max_tree_depth;
  const bool nuts = sampler.settings().kind == SamplerKind::nuts;
  const Eigen::Index n = settings.draws;
  for (Eigen::Index i = (chain.done - settings.warmup) / settings.thin; i < n && !counter.cancelled(); ++i) {
    TransitionInfo info;
    for (Eigen::Index t = 0; t < settings.thin; ++t) {
      info = sampler.transition(chain.state, chain.engine);
      r.gradient_evaluations += info.n_leapfrog;
      r.sampling_divergences += info.divergent ? 1 : 0;
      r.max_tree_depth_hits += nuts && info.tree_depth >= depth_cap ? 1 : 0;
      chain.accept_sum += info.accept_stat;
      ++r.sampling_transitions;
      ++chain.done;
      counter.add(1);
    }
    r.energy(i) = info.energy;
    r.accept_stat(i) = info.accept_stat;
    r.divergent(i) = info.divergent ? 1.0 : 0.0;
    r.tree_depth(i) = info.tree_depth;
    r.n_leapfrog(i) = info.n_leapfrog;
    if (recorder != nullptr) recorder->record(i, chain.state.q);
    if (partial != nullptr && i + 1 < n && partial->due()) {
      r.sampling_seconds = seconds_since(start);
      save_chain(chain, sampler, recorder, *partial);
    }
  }
  r.mean_accept_stat =
      r.sampling_transitions > 0 ? chain.accept_sum / static_cast<double>(r.sampling_transitions) : 0.0;
  r.sampling_seconds = seconds_since(start);
}

// Chain c from its prior draw (or from its partial state) to its last kept draw (see the
// header's contract).
ChainResult run_chain(const Potential& target, const SamplerSettings& sampler_settings,
                      const ChainSettings& settings, Eigen::Index c, DrawRecorder* recorder,
                      core::PartialStateStore* partial, detail::ProgressCounter& counter, int threads) {
  const std::unique_ptr<Potential> potential = target.clone();
  potential->set_threads(threads);
  const std::unique_ptr<Sampler> sampler = make_sampler(sampler_settings, *potential);
  RunningChain chain;
  if (partial != nullptr && restore_chain(chain, *sampler, recorder, *partial, potential->dimension(), c)) {
    counter.add(chain.done);
  } else {
    start_chain(chain, *potential, settings, c);
    if (settings.warmup > 0) sampler->begin_warmup(chain.state, settings.warmup, chain.engine);
  }
  run_warmup(chain, *sampler, settings, recorder, partial, counter);
  run_sampling(chain, *sampler, settings, recorder, partial, counter);
  return std::move(chain.result);
}

void require(bool ok, std::string_view section, std::string_view field, Eigen::Index value,
             std::string_view rule) {
  if (ok) return;
  std::ostringstream msg;
  msg << section << "." << field << " = " << value << ": " << rule;
  throw ConfigError(msg.str());
}

}  // namespace

void validate(const ChainSettings& s, std::string_view section) {
  require(s.chains >= 1, section, "chains", s.chains, "must be a positive integer");
  require(s.warmup >= 0, section, "warmup", s.warmup, "must be >= 0");
  require(s.draws >= 1, section, "draws", s.draws, "must be a positive integer");
  require(s.thin >= 1, section, "thin", s.thin, "must be a positive integer");
  require(s.first_chain >= 0, section, "first_chain", s.first_chain, "must be >= 0");
}

Eigen::VectorXd initial_point(const ChainSettings& settings, Eigen::Index chain, Eigen::Index dimension) {
  core::Engine engine = core::make_stream(settings.seed, core::StreamPurpose::chain_init,
                                          settings.stream_width, static_cast<std::uint64_t>(chain));
  Eigen::VectorXd q(dimension);
  core::fill_standard_normal(engine, q);
  return q;
}

std::int64_t total_transitions(const ChainSettings& s) {
  return static_cast<std::int64_t>(s.chains) * (s.warmup + s.draws * s.thin);
}

std::vector<ChainResult> run_chains(const Potential& target, const SamplerSettings& sampler,
                                    const ChainSettings& settings,
                                    const std::vector<DrawRecorder*>& recorders,
                                    const ChainProgress& progress,
                                    const std::vector<core::PartialStateStore*>& partials) {
  validate(settings);
  validate(sampler);
  if (static_cast<Eigen::Index>(recorders.size()) != settings.chains ||
      (!partials.empty() && static_cast<Eigen::Index>(partials.size()) != settings.chains)) {
    throw ConfigError("run_chains: " + std::to_string(recorders.size()) + " recorders and " +
                      std::to_string(partials.size()) + " partial-state stores for " + std::to_string(settings.chains) +
                      " chains: need one recorder per chain and none or one store per chain");
  }
  const auto C = static_cast<std::size_t>(settings.chains);
  std::vector<ChainResult> results(C);
  // STYLE.md §4, §6: one chain per iteration, its own streams and result slot; the
  // lowest failing chain's error is rethrown after the loop.
  std::vector<std::exception_ptr> errors(C);
  detail::ProgressCounter counter(progress, total_transitions(settings));
  // Threads inside a chain (sampling/detail/threads.hpp) share the cores with the chains;
  // their fixed blocks keep results independent of both counts.
  const int inner = threads_per_chain(settings.chains);
  const int outer = std::max(1, omp_get_max_threads() / inner);
  const int levels = omp_get_max_active_levels();
  if (inner > 1) omp_set_max_active_levels(std::max(2, levels));
#pragma omp parallel for schedule(dynamic, 1) num_threads(outer)
  for (Eigen::Index c = 0; c < settings.chains; ++c) {
    const auto i = static_cast<std::size_t>(c);
    try {
      core::PartialStateStore* partial = partials.empty() ? nullptr : partials[i];
      results[i] =
          run_chain(target, sampler, settings, settings.first_chain + c, recorders[i], partial, counter, inner);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  }
  omp_set_max_active_levels(levels);
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  if (counter.error()) std::rethrow_exception(counter.error());
  if (progress) progress(total_transitions(settings));
  return results;
}

ReadoutCompletion::ReadoutCompletion(const CollapsedPosterior& posterior, const ChainSettings& settings,
                                     Eigen::Index chain, DrawRecorder& next)
    : posterior_(posterior),
      engine_(core::make_stream(settings.seed, core::StreamPurpose::readout_draw, settings.stream_width,
                                static_cast<std::uint64_t>(chain))),
      next_(next),
      theta_(posterior.layout().size()) {}

void ReadoutCompletion::save_state(core::BinaryWriter& out) const {
  out.engine(engine_);
  next_.save_state(out);
}

void ReadoutCompletion::restore_state(core::BinaryReader& in) {
  engine_ = in.engine();
  next_.restore_state(in);
}

void ReadoutCompletion::record(Eigen::Index index, const Eigen::Ref<const Eigen::VectorXd>& theta_hidden) {
  const ParameterLayout& layout = posterior_.layout();
  theta_.head(layout.hidden_size()) = theta_hidden;
  posterior_.draw_readout(theta_hidden, engine_, theta_.tail(layout.readout_size()));
  next_.record(index, theta_);
}

void DrawRecorder::save_state(core::BinaryWriter&) const {
  throw Error("this draw recorder keeps no checkpoint: a chain with a partial-state store needs one that does");
}

void DrawRecorder::restore_state(core::BinaryReader&) {
  throw Error("this draw recorder keeps no checkpoint: a chain with a partial-state store needs one that does");
}

void write_chain_result(const ChainResult& r, core::BinaryWriter& out) {
  out.integer(r.chain);
  for (const Eigen::VectorXd* v : {&r.energy, &r.accept_stat, &r.divergent}) out.vector(*v);
  out.vector(r.tree_depth.cast<double>());
  out.vector(r.n_leapfrog.cast<double>());
  for (const Eigen::Index n : {r.sampling_transitions, r.sampling_divergences, r.max_tree_depth_hits,
                               r.warmup_divergences})
    out.integer(n);
  out.integer(r.gradient_evaluations);
  for (const double x : {r.mean_accept_stat, r.step_size, r.warmup_seconds, r.sampling_seconds}) out.real(x);
  out.vector(r.inverse_mass);
}

ChainResult read_chain_result(core::BinaryReader& in) {
  ChainResult r;
  r.chain = in.integer();
  for (Eigen::VectorXd* v : {&r.energy, &r.accept_stat, &r.divergent}) *v = in.vector();
  r.tree_depth = in.vector().cast<int>();
  r.n_leapfrog = in.vector().cast<int>();
  for (Eigen::Index* n : {&r.sampling_transitions, &r.sampling_divergences, &r.max_tree_depth_hits,
                          &r.warmup_divergences})
    *n = in.integer();
  r.gradient_evaluations = in.integer();
  for (double* x : {&r.mean_accept_stat, &r.step_size, &r.warmup_seconds, &r.sampling_seconds}) *x = in.real();
  r.inverse_mass = in.vector();
  return r;
}

Eigen::MatrixXd draws_by_chain(const std::vector<ChainResult>& chains, Eigen::VectorXd ChainResult::*field) {
  if (chains.empty()) return {};
  Eigen::MatrixXd out((chains.front().*field).size(), static_cast<Eigen::Index>(chains.size()));
  for (std::size_t c = 0; c < chains.size(); ++c) out.col(static_cast<Eigen::Index>(c)) = chains[c].*field;
  return out;
}

SamplerSummary summarize_sampler(const std::vector<ChainResult>& chains) {
  SamplerSummary s;
  const auto C = static_cast<Eigen::Index>(chains.size());
  s.accept_stat.resize(C);
  s.step_size.resize(C);
  double accept_sum = 0.0, depth_sum = 0.0, leapfrog_sum = 0.0;
  Eigen::Index kept = 0;
  for (Eigen::Index c = 0; c < C; ++c) {
    const ChainResult& r = chains[static_cast<std::size_t>(c)];
    s.accept_stat(c) = r.mean_accept_stat;
    s.step_size(c) = r.step_size;
    s.divergences += r.sampling_divergences;
    s.warmup_divergences += r.warmup_divergences;
    s.sampling_transitions += r.sampling_transitions;
    s.max_tree_depth_hits += r.max_tree_depth_hits;
    s.gradient_evaluations += r.gradient_evaluations;
    accept_sum += r.mean_accept_stat * static_cast<double>(r.sampling_transitions);
    depth_sum += r.tree_depth.cast<double>().sum();
    leapfrog_sum += r.n_leapfrog.cast<double>().sum();
    kept += r.tree_depth.size();
    if (r.tree_depth.size() > 0) s.max_tree_depth = std::max(s.max_tree_depth, r.tree_depth.maxCoeff());
  }
  if (s.sampling_transitions > 0) s.mean_accept_stat = accept_sum / static_cast<double>(s.sampling_transitions);
  if (kept > 0) {
    s.mean_tree_depth = depth_sum / static_cast<double>(kept);
    s.mean_leapfrog = leapfrog_sum / static_cast<double>(kept);
  }
  s.e_bfmi = e_bfmi_per_chain(draws_by_chain(chains, &ChainResult::energy));
  s.low_e_bfmi = C == 0 || (s.e_bfmi.array() < kLowEBfmi || s.e_bfmi.array().isNaN()).any();
  return s;
}

}  // namespace kernelmc::sampling
