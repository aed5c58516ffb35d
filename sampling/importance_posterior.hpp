#pragma once
// The posterior over kernels by exact-prior importance sampling (THEORY.md §1.5 kernel-space
// form, §9.5): p(C^(2..L+1) | D) ∝ p(C^(2..L+1)) N(Y; 0, C^(L+1) + κI). M exact prior networks
// (sampling/prior_sampler.hpp: kernels only, network m from make_stream(seed, prior_network,
// N_1, m), the same draws as sample_prior_statistics) are weighted by the collapsed
// likelihood w_m = N(Y; 0, C_m^(L+1) + κI), carried as log weights, and self-normalised:
//   E_post[C^(l)] = Σ_m w̃_m C_m^(l),   E_prior[C^(l)] = (1/M) Σ_m C_m^(l),
//   ΔC^(l) = Σ_m (w̃_m − 1/M) C_m^(l)  (same draws: the common fluctuation cancels),
//   Z = E_prior[w]:  log Ẑ = log((1/M) Σ_m w_m)  (the evidence, unbiased in Z).
// Errors: batch means over B contiguous blocks of networks (each block self-normalised on
// its own; SE = sd_b/√B, B − 1 degrees of freedom); log Ẑ's error by the delta method,
// sd(w)/(√M·mean(w)). Diagnostics: Kish's ESS and the PSIS k̂ of the M log weights
// (sampling/diagnostics/pareto_k.hpp); above k̂ = 0.7 the estimate is not to be trusted,
// and the result says so in `warning`.
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <cstdint>
#include <string>

#include "core/checkpoint_io.hpp"
#include "core/dataset.hpp"
#include "core/model_spec.hpp"
#include "sampling/replicated_kernel_estimate.hpp"

namespace kernelmc::sampling {

// log N(Y; 0, C + κI) = −½ tr YᵀAY − (D/2) log det(C + κI) − (P·D/2) log 2π, A = (C + κI)⁻¹,
// factorised by the collapsed posterior's jitter policy (cholesky_with_jitter); −inf when
// the factorisation fails. `llt` is workspace.
double gaussian_process_log_evidence(const Eigen::Ref<const Eigen::MatrixXd>& kernel, double kappa,
                                     const Eigen::Ref<const Eigen::MatrixXd>& targets,
                                     Eigen::LLT<Eigen::MatrixXd>& llt);

struct ImportanceSettings {
  Eigen::Index networks = 200000;  // M
  Eigen::Index batches = 20;       // B: contiguous blocks of networks for batch-means errors
  std::uint64_t seed = 0;
};

struct ImportancePosterior {
  ReplicatedKernelEstimate kernels;  // replicates = the B batches; point estimates pooled over all M
  Eigen::VectorXd log_weights;       // log w_m, network order (−inf where C + κI failed to factorise)
  double log_evidence = 0.0;         // log Ẑ
  double log_evidence_error = 0.0;   // delta-method SE of log Ẑ
  double effective_sample_size = 0.0;  // Kish ESS of the M weights
  double pareto_k = 0.0;             // PSIS k̂ (r_eff = 1: independent draws)
  Eigen::Index failed_networks = 0;  // networks with log w = −inf
  std::string warning;               // empty, or why the estimate is not to be trusted
  bool reliable() const { return warning.empty(); }
};

// Throws ConfigError (importance.networks, importance.batches: 2 ≤ B ≤ M; or the spec),
// DataError when the data do not fit the spec, NumericalError when every weight vanishes.
// With `partial` (core::PartialStateStore) the finished blocks are saved whenever a block
// ends and a save is due, and a run that finds a save computes only the blocks it lacks:
// the blocks are independent and merged in block order, so the result is bit-identical
// (DataError naming the save if it does not fit these settings).
ImportancePosterior run_importance_posterior(const core::ModelSpec& spec, const core::Dataset& data,
                                             const ImportanceSettings& settings,
                                             core::PartialStateStore* partial = nullptr);

}  // namespace kernelmc::sampling
