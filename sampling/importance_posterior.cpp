#include "sampling/importance_posterior.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/diagnostics/pareto_k.hpp"
#include "sampling/log_weights.hpp"
#include "sampling/prior_sampler.hpp"
#include "sampling/tempered_potential.hpp"

namespace kernelmc::sampling {

namespace {

constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();

// Σ_m e^{log w_m − reference}·C_m and Σ_m C_m over one block of networks, with the
// reference raised (and the sums rescaled) whenever a larger log weight arrives.
struct WeightedKernelSums {
  double reference = kMinusInfinity;
  double weight = 0.0;
  core::KernelStack weighted;  // Σ e^{lw − ref} C^(l)
  core::KernelStack plain;     // Σ C^(l)
  Eigen::Index count = 0;

  WeightedKernelSums(Eigen::Index top_layer, Eigen::Index points)
      : weighted(core::zero_kernel_stack(top_layer, points)), plain(core::zero_kernel_stack(top_layer, points)) {}

  void add(double log_weight, const core::KernelStack& kernels) {
    if (log_weight > reference) {
      const double shrink = reference == kMinusInfinity ? 0.0 : std::exp(reference - log_weight);
      weight *= shrink;
      for (Eigen::MatrixXd& C : weighted.kernels) C *= shrink;
      reference = log_weight;
    }
    const double w = log_weight == kMinusInfinity ? 0.0 : std::exp(log_weight - reference);
    weight += w;
    for (Eigen::Index l = 1; l <= plain.top_layer(); ++l) {
      weighted.layer(l) += w * kernels.layer(l);
      plain.layer(l) += kernels.layer(l);
    }
    ++count;
  }
};

void check_settings(const ImportanceSettings& s) {
  if (s.networks < 2)
    throw ConfigError("importance.networks = " + std::to_string(s.networks) + ": must be at least 2");
  if (s.batches < 2 || s.batches > s.networks)
    throw ConfigError("importance.batches = " + std::to_string(s.batches) +
                      ": must be between 2 and importance.networks = " + std::to_string(s.networks) +
                      " (batch means need two batches, every batch a network)");
}

// The networks [first, last) into `sums`, their log weights into log_weights(m).
void weigh_block(const core::ModelSpec& spec, const core::Dataset& data, const ImportanceSettings& settings,
                 Eigen::Index first, Eigen::Index last, WeightedKernelSums& sums, Eigen::VectorXd& log_weights) {
  const auto width_id = static_cast<std::uint64_t>(spec.widths.front());
  const Eigen::Index top = spec.depth() + 1;
  Eigen::LLT<Eigen::MatrixXd> llt(data.size());
  for (Eigen::Index m = first; m < last; ++m) {
    core::Engine engine =
        core::make_stream(settings.seed, core::StreamPurpose::prior_network, width_id, static_cast<std::uint64_t>(m));
    const core::KernelStack kernels = sample_prior_kernels(spec, data.inputs, engine);
    log_weights(m) = gaussian_process_log_evidence(kernels.layer(top), spec.kappa, data.targets, llt);
    sums.add(log_weights(m), kernels);
  }
}

// The finished blocks (`done`) with their sums and log weights, as restore_blocks reads them.
void save_blocks(const std::vector<char>& done, const std::vector<WeightedKernelSums>& sums,
                 const Eigen::VectorXd& log_weights, const ImportanceSettings& settings,
                 core::PartialStateStore& partial) {
  const Eigen::Index M = settings.networks, B = settings.batches;
  core::BinaryWriter out;
  out.integer(M);
  out.integer(B);
  for (Eigen::Index b = 0; b < B; ++b) {
    out.integer(done[static_cast<std::size_t>(b)] ? 1 : 0);
    if (!done[static_cast<std::size_t>(b)]) continue;
    const WeightedKernelSums& s = sums[static_cast<std::size_t>(b)];
    out.real(s.reference);
    out.real(s.weight);
    out.matrices(s.weighted.kernels);
    out.matrices(s.plain.kernels);
    out.integer(s.count);
    out.vector(log_weights.segment(b * M / B, (b + 1) * M / B - b * M / B));
  }
  partial.save(out);
}

// The blocks of the last save into `done`, `sums` and `log_weights` (nothing without one).
void restore_blocks(std::vector<char>& done, std::vector<WeightedKernelSums>& sums, Eigen::VectorXd& log_weights,
                    const ImportanceSettings& settings, core::PartialStateStore& partial) {
  std::optional<core::BinaryReader> in = partial.load();
  if (!in) return;
  const Eigen::Index M = settings.networks, B = settings.batches;
  if (in->integer() != M || in->integer() != B)
    throw DataError(in->source() + ": holds another importance run than " + std::to_string(M) + " networks in " +
                    std::to_string(B) + " batches");
  for (Eigen::Index b = 0; b < B; ++b) {
    done[static_cast<std::size_t>(b)] = in->integer() != 0 ? 1 : 0;
    if (!done[static_cast<std::size_t>(b)]) continue;
    WeightedKernelSums& s = sums[static_cast<std::size_t>(b)];
    s.reference = in->real();
    s.weight = in->real();
    s.weighted.kernels = in->matrices();
    s.plain.kernels = in->matrices();
    s.count = in->integer();
    const Eigen::Index first = b * M / B, size = (b + 1) * M / B - first;
    const Eigen::VectorXd w = in->vector();
    if (w.size() != size || s.weighted.kernels.size() != s.plain.kernels.size())
      throw DataError(in->source() + ": block " + std::to_string(b) + " does not fit the importance run");
    log_weights.segment(first, size) = w;
  }
  in->finish();
}

// E_post and E_prior of one block, or of several merged, from their sums.
void block_means(const std::vector<const WeightedKernelSums*>& blocks, core::KernelStack& posterior,
                 core::KernelStack& prior) {
  double reference = kMinusInfinity;
  for (const WeightedKernelSums* b : blocks) reference = std::max(reference, b->reference);
  double weight = 0.0;
  Eigen::Index count = 0;
  for (Eigen::Index l = 1; l <= posterior.top_layer(); ++l) {
    posterior.layer(l).setZero();
    prior.layer(l).setZero();
  }
  for (const WeightedKernelSums* b : blocks) {
    const double scale = b->reference == kMinusInfinity ? 0.0 : std::exp(b->reference - reference);
    weight += scale * b->weight;
    count += b->count;
    for (Eigen::Index l = 1; l <= posterior.top_layer(); ++l) {
      posterior.layer(l) += scale * b->weighted.layer(l);
      prior.layer(l) += b->plain.layer(l);
    }
  }
  for (Eigen::Index l = 1; l <= posterior.top_layer(); ++l) {
    posterior.layer(l) /= weight;  // NaN when every weight of the block vanished
    prior.layer(l) /= static_cast<double>(count);
  }
}

// log Ẑ = log mean w and its delta-method SE sd(w)/(√M mean w).
void evidence_from_weights(const Eigen::VectorXd& log_weights, ImportancePosterior& result) {
  const double M = static_cast<double>(log_weights.size());
  const double log_total = log_sum_exp(log_weights);
  result.log_evidence = log_total - std::log(M);
  const Eigen::ArrayXd relative = (log_weights.array() - result.log_evidence).exp();  // w / mean w
  result.log_evidence_error = std::sqrt((relative - 1.0).square().sum() / (M - 1.0) / M);
}

std::string reliability_warning(const ImportancePosterior& r) {
  if (std::isnan(r.pareto_k) || r.pareto_k > kParetoKThreshold)
    return "importance sampling is not reliable: PSIS k-hat = " + std::to_string(r.pareto_k) + " > " +
           std::to_string(kParetoKThreshold) + " (Kish ESS " + std::to_string(r.effective_sample_size) + " of " +
           std::to_string(r.log_weights.size()) + " networks); use posterior.route = \"smc\" or \"chains\"";
  return {};
}

}  // namespace

double gaussian_process_log_evidence(const Eigen::Ref<const Eigen::MatrixXd>& kernel, double kappa,
                                     const Eigen::Ref<const Eigen::MatrixXd>& targets,
                                     Eigen::LLT<Eigen::MatrixXd>& llt) {
  const double jitter = cholesky_with_jitter(kernel, kappa, llt);
  if (std::isnan(jitter)) return kMinusInfinity;
  const Eigen::MatrixXd whitened = llt.matrixL().solve(targets);
  const double D = static_cast<double>(targets.cols());
  const double log_det = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
  return -0.5 * whitened.squaredNorm() - 0.5 * D * log_det +
         collapsed_log_likelihood_offset(targets.rows(), targets.cols());
}

ImportancePosterior run_importance_posterior(const core::ModelSpec& spec, const core::Dataset& data,
                                             const ImportanceSettings& settings, core::PartialStateStore* partial) {
  core::check_fits(data, spec);
  check_settings(settings);
  const Eigen::Index M = settings.networks;
  const Eigen::Index B = settings.batches;
  const Eigen::Index top = spec.depth() + 1;
  const Eigen::Index P = data.size();
  ImportancePosterior result;
  result.log_weights.resize(M);
  std::vector<WeightedKernelSums> sums(static_cast<std::size_t>(B), WeightedKernelSums(top, P));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(B));
  std::vector<char> restored(static_cast<std::size_t>(B), 0);  // read-only in the loop
  if (partial != nullptr) restore_blocks(restored, sums, result.log_weights, settings, *partial);
  std::vector<char> done = restored;  // written inside the critical region only
#pragma omp parallel for schedule(dynamic, 1)
  for (Eigen::Index b = 0; b < B; ++b) {
    if (restored[static_cast<std::size_t>(b)]) continue;
    try {
      weigh_block(spec, data, settings, b * M / B, (b + 1) * M / B, sums[static_cast<std::size_t>(b)],
                  result.log_weights);
    } catch (...) {
      errors[static_cast<std::size_t>(b)] = std::current_exception();
    }
    // One thread at a time records the block and saves (no exception leaves the region).
#pragma omp critical(kernelmc_importance_partial)
    {
      done[static_cast<std::size_t>(b)] = errors[static_cast<std::size_t>(b)] ? 0 : 1;
      const bool unfinished = std::find(done.begin(), done.end(), 0) != done.end();
      try {
        if (partial != nullptr && !errors[static_cast<std::size_t>(b)] && unfinished && partial->due())
          save_blocks(done, sums, result.log_weights, settings, *partial);
      } catch (...) {
        errors[static_cast<std::size_t>(b)] = std::current_exception();
      }
    }
  }
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  normalized_weights(result.log_weights, "importance posterior");  // throws if every weight vanished

  ReplicatedKernelEstimate& k = result.kernels;
  std::vector<const WeightedKernelSums*> all;
  for (const WeightedKernelSums& s : sums) {
    k.posterior_replicates.push_back(core::zero_kernel_stack(top, P));
    k.prior_replicates.push_back(core::zero_kernel_stack(top, P));
    block_means({&s}, k.posterior_replicates.back(), k.prior_replicates.back());
    all.push_back(&s);
  }
  k.posterior_mean = core::zero_kernel_stack(top, P);
  k.prior_mean = core::zero_kernel_stack(top, P);
  block_means(all, k.posterior_mean, k.prior_mean);

  evidence_from_weights(result.log_weights, result);
  result.effective_sample_size = kish_effective_sample_size(result.log_weights);
  result.pareto_k = pareto_k_hat(result.log_weights);
  result.failed_networks = (result.log_weights.array() == kMinusInfinity).count();
  result.warning = reliability_warning(result);
  return result;
}

}  // namespace kernelmc::sampling
