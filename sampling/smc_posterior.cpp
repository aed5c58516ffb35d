#include "sampling/smc_posterior.hpp"

#include <omp.h>

#include <cmath>
#include <memory>
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

SmcPosterior run_smc_posterior(const core::ModelSpec& spec, const core::Dataset& data,
                               const SmcPosteriorSettings& settings) {
  core::check_fits(data, spec);
  validate(settings.smc);
  if (settings.replicates < 2)
    throw ConfigError("smc_posterior.replicates = " + std::to_string(settings.replicates) +
                      ": must be at least 2 (the errors come from independent runs)");
  const CollapsedPosterior base(spec, data);
  const double offset = collapsed_log_likelihood_offset(data.size(), data.output_dim());
  SmcPosterior result;
  result.replicate_log_evidences.resize(settings.replicates);
  double acceptance = 0.0;
  Eigen::Index moves = 0;
  for (Eigen::Index r = 0; r < settings.replicates; ++r) {
    // The first step reweights the β = 0 population itself: its kernels give E_prior too.
    core::KernelStack prior = core::zero_kernel_stack(spec.depth() + 1, data.size());
    core::KernelStack delta = prior;
    bool first_step = true;
    const SmcResult run = run_tempered_smc(
        base, offset, settings.smc, static_cast<std::uint64_t>(r),
        [&](const Eigen::MatrixXd& particles, const Eigen::VectorXd& weights) {
          const std::vector<core::KernelStack> kernels = particle_kernels(spec, data, particles);
          const double uniform = 1.0 / static_cast<double>(weights.size());
          if (first_step) add_weighted_sum(kernels, Eigen::VectorXd::Constant(weights.size(), uniform), prior);
          first_step = false;
          core::KernelStack step = core::zero_kernel_stack(spec.depth() + 1, data.size());
          add_weighted_sum(kernels, (weights.array() - uniform).matrix(), step);
          for (Eigen::Index l = 1; l <= delta.top_layer(); ++l) delta.layer(l) += step.layer(l);
        });
    core::KernelStack posterior = prior;
    for (Eigen::Index l = 1; l <= posterior.top_layer(); ++l) posterior.layer(l) += delta.layer(l);
    result.kernels.prior_replicates.push_back(std::move(prior));
    result.kernels.posterior_replicates.push_back(std::move(posterior));
    result.replicate_log_evidences(r) = run.log_evidence;
    for (const SmcStepInfo& step : run.steps) acceptance += step.acceptance;
    moves += static_cast<Eigen::Index>(run.steps.size());
    result.schedules.push_back(run.steps);
  }
  result.kernels.prior_mean = average(result.kernels.prior_replicates);
  result.kernels.posterior_mean = average(result.kernels.posterior_replicates);
  std::tie(result.log_evidence, result.log_evidence_error) = pooled_log_evidence(result.replicate_log_evidences);
  result.mean_acceptance = acceptance / static_cast<double>(moves);
  return result;
}

}  // namespace kernelmc::sampling
