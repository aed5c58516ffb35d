#pragma once
// The Pareto-smoothed importance-sampling diagnostic k̂ (Vehtari, Simpson, Gelman, Yao &
// Gabry, "Pareto smoothed importance sampling", JMLR 25(72), 2024), exactly as R loo's
// psis() for one vector of log ratios with r_eff = 1 (loo 2.x: do_psis_i, psis_smooth_tail,
// gpdfit): the generalized Pareto distribution is fitted to the M = ⌈min(0.2 S, 3√(S/r_eff))⌉
// largest weights, as exceedances over the (M+1)-th largest, by the profile-likelihood
// posterior mean of Zhang & Stephens (2009, Technometrics 51, 316; their §4), with loo's
// weakly informative shrinkage k ← (k n + 5)/(n + 10). k̂ estimates the tail index: the
// variance of the weights is finite for k < 1/2, and above kParetoKThreshold the
// self-normalised estimate is not to be trusted (the paper's §3.2.4 for S ≳ 2200).
#include <Eigen/Core>

namespace kernelmc::sampling {

// The threshold of the task and of the PSIS paper's large-S rule.
inline constexpr double kParetoKThreshold = 0.7;

struct GeneralizedParetoFit {
  double k = 0.0;      // shape ξ (with the weakly informative adjustment)
  double sigma = 0.0;  // scale
};

// loo's gpdfit(x, wip = TRUE, min_grid_pts = 30) for exceedances x ≥ 0 sorted ascending
// (at least one entry, largest > 0). k is +inf where the fit is undefined (NaN in loo).
GeneralizedParetoFit generalized_pareto_fit(const Eigen::Ref<const Eigen::VectorXd>& sorted_exceedances);

// k̂ of the importance weights e^{log_weights} (psis()$diagnostics$pareto_k). +inf when the
// tail has fewer than 5 draws or is constant (loo warns and leaves k̂ = Inf); NaN when a log
// weight is NaN or +inf or all are −inf.
double pareto_k_hat(const Eigen::Ref<const Eigen::VectorXd>& log_weights,
                    double relative_efficiency = 1.0);

// ⌈min(0.2 S, 3√(S/r_eff))⌉, the tail length loo fits.
Eigen::Index pareto_tail_length(Eigen::Index draws, double relative_efficiency = 1.0);

}  // namespace kernelmc::sampling
