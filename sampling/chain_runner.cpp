#include "sampling/chain_runner.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
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

// Chain c from its prior draw to its last kept draw (see the header's contract).
ChainResult run_chain(const Potential& target, const SamplerSettings& sampler_settings,
                      const ChainSettings& settings, Eigen::Index c, DrawRecorder* recorder,
                      detail::ProgressCounter& counter, int threads) {
  const std::unique_ptr<Potential> potential = target.clone();
  potential->set_threads(threads);
  const std::unique_ptr<Sampler> sampler = make_sampler(sampler_settings, *potential);
  core::Engine engine = core::make_stream(settings.seed, core::StreamPurpose::chain_momentum,
                                          settings.stream_width, static_cast<std::uint64_t>(c));
  PhasePoint state = make_phase_point(*potential, initial_point(settings, c, potential->dimension()));

  ChainResult r;
  r.chain = c;
  const Eigen::Index n = settings.draws;
  r.energy.resize(n);
  r.accept_stat.resize(n);
  r.divergent.resize(n);
  r.tree_depth.resize(n);
  r.n_leapfrog.resize(n);

  auto start = std::chrono::steady_clock::now();
  if (settings.warmup > 0) {
    sampler->begin_warmup(state, settings.warmup, engine);
    for (Eigen::Index i = 0; i < settings.warmup && !counter.cancelled(); ++i) {
      const TransitionInfo info = sampler->transition(state, engine);
      r.gradient_evaluations += info.n_leapfrog;
      r.warmup_divergences += info.divergent ? 1 : 0;
      counter.add(1);
    }
    sampler->end_warmup();
  }
  r.step_size = sampler->step_size();
  r.inverse_mass = sampler->metric().inverse_mass();
  r.warmup_seconds = seconds_since(start);

  start = std::chrono::steady_clock::now();
  const int depth_cap = sampler_settings.max_tree_depth;
  const bool nuts = sampler_settings.kind == SamplerKind::nuts;
  double accept_sum = 0.0;
  for (Eigen::Index i = 0; i < n && !counter.cancelled(); ++i) {
    TransitionInfo info;
    for (Eigen::Index t = 0; t < settings.thin; ++t) {
      info = sampler->transition(state, engine);
      r.gradient_evaluations += info.n_leapfrog;
      r.sampling_divergences += info.divergent ? 1 : 0;
      r.max_tree_depth_hits += nuts && info.tree_depth >= depth_cap ? 1 : 0;
      accept_sum += info.accept_stat;
      ++r.sampling_transitions;
      counter.add(1);
    }
    r.energy(i) = info.energy;
    r.accept_stat(i) = info.accept_stat;
    r.divergent(i) = info.divergent ? 1.0 : 0.0;
    r.tree_depth(i) = info.tree_depth;
    r.n_leapfrog(i) = info.n_leapfrog;
    if (recorder != nullptr) recorder->record(i, state.q);
  }
  r.mean_accept_stat = r.sampling_transitions > 0 ? accept_sum / static_cast<double>(r.sampling_transitions) : 0.0;
  r.sampling_seconds = seconds_since(start);
  return r;
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
                                    const ChainProgress& progress) {
  validate(settings);
  validate(sampler);
  if (static_cast<Eigen::Index>(recorders.size()) != settings.chains) {
    throw ConfigError("run_chains: " + std::to_string(recorders.size()) + " recorders for " +
                      std::to_string(settings.chains) + " chains: need one per chain");
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
      results[i] = run_chain(target, sampler, settings, settings.first_chain + c, recorders[i], counter, inner);
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

void ReadoutCompletion::record(Eigen::Index index, const Eigen::Ref<const Eigen::VectorXd>& theta_hidden) {
  const ParameterLayout& layout = posterior_.layout();
  theta_.head(layout.hidden_size()) = theta_hidden;
  posterior_.draw_readout(theta_hidden, engine_, theta_.tail(layout.readout_size()));
  next_.record(index, theta_);
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
