#pragma once
// The collapsed posterior over hidden weights by tempered SMC (sampling/smc.hpp) on
// U_collapsed (THEORY.md §1.5), with the kernel estimators of every layer measured on the
// same particle system: E_prior[C^(l)] from the β = 0 population (exact prior draws of the
// raw hidden parameters), and the adaptation as a sum of same-draw differences over the
// tempering steps t (β_t → β_{t+1}), each on the population before its resampling:
//   ΔC^(l) = Σ_t Σ_i (w̃_i^t − 1/n) C^(l)(θ_i^t),   E_post[C^(l)] = E_prior[C^(l)] + ΔC^(l).
// Each term's O(1) fluctuation common to E_β and E_β' cancels, so ΔC keeps the O(1/N)
// resolution of the importance route; the difference of the final and the initial
// population's means would not (its error is that of two independent O(1) means). R independent runs (replicates) give the errors
// (SE = sd_r/√R, R − 1 degrees of freedom) and the evidence:
//   Ẑ_r = ∏_steps mean_i e^{Δβ log L_i} is unbiased for Z = ∫ N(θ; 0, I) N(Y; 0, C^(L+1)(θ) + κI) dθ,
//   so log Ẑ = log mean_r Ẑ_r, with the delta-method SE sd_r(Ẑ_r)/(√R mean_r Ẑ_r).
#include <Eigen/Core>
#include <utility>
#include <vector>

#include "core/dataset.hpp"
#include "core/model_spec.hpp"
#include "core/settings/posterior.hpp"
#include "sampling/replicated_kernel_estimate.hpp"
#include "sampling/smc.hpp"

namespace kernelmc::sampling {

struct SmcPosteriorSettings {
  SmcSettings smc;             // seed and stream_width included
  Eigen::Index replicates = 4; // independent SMC runs (≥ 2 for an error)
};

struct SmcPosterior {
  ReplicatedKernelEstimate kernels;           // replicates = the runs; point estimates their mean
  Eigen::VectorXd replicate_log_evidences;    // log Ẑ_r
  double log_evidence = 0.0;                  // log mean_r Ẑ_r
  double log_evidence_error = 0.0;            // delta-method SE over the runs
  std::vector<std::vector<SmcStepInfo>> schedules;  // per run: β, ESS, acceptance, step size per step
  double mean_acceptance = 0.0;               // of all moves of all runs
};

// Throws ConfigError (smc.*, smc_posterior.replicates ≥ 2, or the spec), DataError when the
// data do not fit the spec, NumericalError from the SMC runs. With `partial`, the runs save
// their state between tempering steps and between runs when it is due (the finished runs'
// estimates; the current run's accumulated E_prior and ΔC and its SmcRunState), and a partial
// state found there is continued: the result is the uninterrupted one's bit for bit.
SmcPosterior run_smc_posterior(const core::ModelSpec& spec, const core::Dataset& data,
                               const SmcPosteriorSettings& settings, core::PartialStateStore* partial = nullptr);

// The combination of independent unbiased estimates Ẑ_r given as log Ẑ_r: log mean Ẑ_r and
// its delta-method SE (NaN for one replicate).
std::pair<double, double> pooled_log_evidence(const Eigen::Ref<const Eigen::VectorXd>& log_evidences);

}  // namespace kernelmc::sampling
