#include "sampling/smc_posterior.hpp"

#include <omp.h>

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "core/error.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/log_weights.hpp"
#include "sampling/tempered_potential.hpp"

namespace kernelmc::sampling {

namespace {

// C^(l) of every particle (column), computed in parallel into per-particle slots.
std::vector<core::KernelStack> particle_kernels(const core::ModelSpec& spec, const core::Dataset& data,
                                                const Eigen::MatrixXd& particles) {
  const Eigen::Index n = particles.cols();
  std::vector<core::KernelStack> per_particle(static_cast<std::size_t>(n));
#pragma omp parallel
  {
    CollapsedPosterior posterior(spec, data);
#pragma omp for schedule(static)
    for (Eigen::Index i = 0; i < n; ++i) per_particle[static_cast<std::size_t>(i)] = posterior.kernels(particles.col(i));
  }
  return per_particle;
}

// Adds Σ_i a_i C_i^(l) to `sum`, in particle order (bit-identical for any thread count).
void add_weighted_sum(const std::vector<core::KernelStack>& kernels, const Eigen::VectorXd& coefficients,
                      core::KernelStack& sum) {
  for (std::size_t i = 0; i < kernels.size(); ++i) {
    for (Eigen::Index l = 1; l <= sum.top_layer(); ++l)
      sum.layer(l) += coefficients(static_cast<Eigen::Index>(i)) * kernels[i].layer(l);
  }
}

// The mean over runs of the runs' kernel stacks.
core::KernelStack average(const std::vector<core::KernelStack>& runs) {
  core::KernelStack mean = runs.front();
  for (std::size_t r = 1; r < runs.size(); ++r) {
    for (Eigen::Index l = 1; l <= mean.top_layer(); ++l) mean.layer(l) += runs[r].layer(l);
  }
  for (Eigen::MatrixXd& C : mean.kernels) C /= static_cast<double>(runs.size());
  return mean;
}

}  // namespace

std::pair<double, double> pooled_log_evidence(const Eigen::Ref<const Eigen::VectorXd>& log_evidences) {
  const double R = static_cast<double>(log_evidences.size());
  const double log_mean = log_sum_exp(log_evidences) - std::log(R);
  const Eigen::VectorXd relative = (log_evidences.array() - log_mean).exp().matrix();  // Ẑ_r / mean Ẑ
  return {log_mean, replicate_standard_error(relative)};
}

namespace {

// The runs of an SMC posterior so far: the finished runs' estimates and, when run
// `replicate` is under way (between two of its steps), its accumulated E_prior and ΔC sums
// and its state.
struct SmcPosteriorProgress {
  SmcPosterior finished;      // kernels' replicates, replicate_log_evidences, schedules of runs 0..replicate−1
  Eigen::Index replicate = 0;
  bool running = false;       // run `replicate` has made a step (else it starts afresh)
  core::KernelStack prior, delta;
  SmcRunState run;
};

void write_progress(const SmcPosteriorProgress& p, core::BinaryWriter& out) {
  out.integer(p.replicate);
  for (Eigen::Index r = 0; r < p.replicate; ++r) {
    const auto i = static_cast<std::size_t>(r);
    out.matrices(p.finished.kernels.prior_replicates[i].kernels);
    out.matrices(p.finished.kernels.posterior_replicates[i].kernels);
    out.real(p.finished.replicate_log_evidences(r));
    write_smc_steps(p.finished.schedules[i], out);
  }
  out.integer(p.running ? 1 : 0);
  if (!p.running) return;
  out.matrices(p.prior.kernels);
  out.matrices(p.delta.kernels);
  write_smc_state(p.run, out);
}

// A kernel stack of `layers` P×P layers read back (DataError otherwise).
core::KernelStack read_stack(core::BinaryReader& in, Eigen::Index layers, Eigen::Index points) {
  core::KernelStack stack{in.matrices()};
  bool fits = stack.top_layer() == layers;
  for (const Eigen::MatrixXd& C : stack.kernels) fits = fits && C.rows() == points && C.cols() == points;
  if (!fits) throw DataError("smc posterior state: a kernel stack does not fit this model");
  return stack;
}

SmcPosteriorProgress read_progress(core::BinaryReader& in, const core::ModelSpec& spec, const core::Dataset& data,
                                   const SmcPosteriorSettings& settings, Eigen::Index dimension) {
  SmcPosteriorProgress p;
  const Eigen::Index layers = spec.depth() + 1, points = data.size();
  p.replicate = in.integer();
  if (p.replicate < 0 || p.replicate >= settings.replicates)
    throw DataError("smc posterior state: run " + std::to_string(p.replicate) + " is not one of this posterior's");
  p.finished.replicate_log_evidences.resize(settings.replicates);
  for (Eigen::Index r = 0; r < p.replicate; ++r) {
    p.finished.kernels.prior_replicates.push_back(read_stack(in, layers, points));
    p.finished.kernels.posterior_replicates.push_back(read_stack(in, layers, points));
    p.finished.replicate_log_evidences(r) = in.real();
    p.finished.schedules.push_back(read_smc_steps(in, settings.smc.max_steps));
  }
  p.running = in.integer() != 0;
  if (p.running) {
    p.prior = read_stack(in, layers, points);
    p.delta = read_stack(in, layers, points);
    p.run = read_smc_state(in, settings.smc, dimension);
  }
  in.finish();
  return p;
}

// The progress a partial state holds, or none (DataError naming the file if it is corrupt).
std::optional<SmcPosteriorProgress> restored_progress(core::PartialStateStore* partial, const core::ModelSpec& spec,
                                                      const core::Dataset& data, const SmcPosteriorSettings& settings,
                                                      Eigen::Index dimension) {
  if (partial == nullptr) return std::nullopt;
  std::optional<core::BinaryReader> in = partial->load();
  if (!in) return std::nullopt;
  try {
    return read_progress(*in, spec, data, settings, dimension);
  } catch (const DataError& e) {
    const std::string message = e.what();
    if (message.rfind(in->source(), 0) == 0) throw;
    throw DataError(in->source() + ": " + message);
  }
}

void save_progress(const SmcPosteriorProgress& p, core::PartialStateStore& partial) {
  core::BinaryWriter out;
  write_progress(p, out);
  partial.save(out);
}

// Run p.replicate, continued from p.run when `resumed`, accumulating its E_prior and ΔC into
// p.prior and p.delta, and saving `p` after each step when due.
SmcResult run_replicate(const CollapsedPosterior& base, double offset, const core::ModelSpec& spec,
                        const core::Dataset& data, const SmcPosteriorSettings& settings, SmcPosteriorProgress& p,
                        bool resumed, core::PartialStateStore* partial) {
  // The first step reweights the β = 0 population itself: its kernels give E_prior too. A
  // restored run under way has made at least one step.
  if (!resumed) {
    p.prior = core::zero_kernel_stack(spec.depth() + 1, data.size());
    p.delta = p.prior;
  }
  bool first_step = !resumed;
  p.running = true;
  SmcContinuation continuation;
  if (resumed) continuation.start = &p.run;
  if (partial != nullptr)
    continuation.after_step = [&p, partial](const SmcRunState& state) {
      if (!partial->due()) return;
      p.run = state;
      save_progress(p, *partial);
    };
  return run_tempered_smc(
      base, offset, settings.smc, static_cast<std::uint64_t>(p.replicate),
      [&](const Eigen::MatrixXd& particles, const Eigen::VectorXd& weights) {
        const std::vector<core::KernelStack> kernels = particle_kernels(spec, data, particles);
        const double uniform = 1.0 / static_cast<double>(weights.size());
        if (first_step) add_weighted_sum(kernels, Eigen::VectorXd::Constant(weights.size(), uniform), p.prior);
        first_step = false;
        core::KernelStack step = core::zero_kernel_stack(spec.depth() + 1, data.size());
        add_weighted_sum(kernels, (weights.array() - uniform).matrix(), step);
        for (Eigen::Index l = 1; l <= p.delta.top_layer(); ++l) p.delta.layer(l) += step.layer(l);
      },
      continuation);
}

// The means, the pooled evidence and the mean acceptance of the finished runs.
void summarize_runs(SmcPosterior& result) {
  double acceptance = 0.0;
  Eigen::Index moves = 0;
  for (const std::vector<SmcStepInfo>& schedule : result.schedules) {
    for (const SmcStepInfo& step : schedule) acceptance += step.acceptance;
    moves += static_cast<Eigen::Index>(schedule.size());
  }
  result.kernels.prior_mean = average(result.kernels.prior_replicates);
  result.kernels.posterior_mean = average(result.kernels.posterior_replicates);
  std::tie(result.log_evidence, result.log_evidence_error) = pooled_log_evidence(result.replicate_log_evidences);
  result.mean_acceptance = acceptance / static_cast<double>(moves);
}

}  // namespace

SmcPosterior run_smc_posterior(const core::ModelSpec& spec, const core::Dataset& data,
                               const SmcPosteriorSettings& settings, core::PartialStateStore* partial) {
  core::check_fits(data, spec);
  validate(settings.smc);
  if (settings.replicates < 2)
    throw ConfigError("smc_posterior.replicates = " + std::to_string(settings.replicates) +
                      ": must be at least 2 (the errors come from independent runs)");
  const CollapsedPosterior base(spec, data);
  const double offset = collapsed_log_likelihood_offset(data.size(), data.output_dim());
  std::optional<SmcPosteriorProgress> restored = restored_progress(partial, spec, data, settings, base.dimension());
  const bool resumed_run = restored && restored->running;
  SmcPosteriorProgress p = restored ? std::move(*restored) : SmcPosteriorProgress{};
  SmcPosterior& result = p.finished;
  if (!restored) result.replicate_log_evidences.resize(settings.replicates);
  const Eigen::Index first = p.replicate;
  for (Eigen::Index r = first; r < settings.replicates; ++r) {
    const bool resumed = resumed_run && r == first;
    p.replicate = r;
    const SmcResult run = run_replicate(base, offset, spec, data, settings, p, resumed, partial);
    core::KernelStack posterior = p.prior;
    for (Eigen::Index l = 1; l <= posterior.top_layer(); ++l) posterior.layer(l) += p.delta.layer(l);
    result.kernels.prior_replicates.push_back(std::move(p.prior));
    result.kernels.posterior_replicates.push_back(std::move(posterior));
    result.replicate_log_evidences(r) = run.log_evidence;
    result.schedules.push_back(run.steps);
    if (partial != nullptr && r + 1 < settings.replicates && partial->due()) {
      p.replicate = r + 1;  // the next run starts afresh
      p.running = false;
      save_progress(p, *partial);
    }
  }
  summarize_runs(result);
  return std::move(result);
}

}  // namespace kernelmc::sampling
