#pragma once
// Effective sample size, exactly as Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021),
// arXiv:1903.08008, §3.2 and §4.3, and R posterior 1.4.0 (ess_basic(), ess_bulk(),
// ess_tail(), ess_mean(), ess_sd(), ess_quantile(), .ess()).
//
// All take draws × chains and return NaN, never throw, when the chains the estimator
// sees (the split halves, unless split = false) fail is_diagnosable(): fewer than
// kMinDrawsPerChain draws, a non-finite draw, or a constant chain. The ESS of S draws is
// capped at S·log10(S) (posterior's guard against unstable antithetic estimates).
#include <Eigen/Core>

namespace kernelmc::sampling {

// ESS of the draws themselves (§3.2), on the split chains by default: S / τ̂ with τ̂ from
// Geyer's initial monotone sequence of the multi-chain autocorrelations (eqs. 10–13).
double ess_basic(const Eigen::Ref<const Eigen::MatrixXd>& draws, bool split = true);

// Bulk ESS (§4.3): ess_basic of the rank-normalised split chains.
double ess_bulk(const Eigen::Ref<const Eigen::MatrixXd>& draws);

// Tail ESS (§4.3): min(ess_quantile(draws, 0.05), ess_quantile(draws, 0.95)).
double ess_tail(const Eigen::Ref<const Eigen::MatrixXd>& draws);

// ESS for the mean: ess_basic on split chains (the ESS that mcse_mean uses).
double ess_mean(const Eigen::Ref<const Eigen::MatrixXd>& draws);

// ESS for the standard deviation: ess_basic of |θ − mean θ|.
double ess_sd(const Eigen::Ref<const Eigen::MatrixXd>& draws);

// ESS for the prob-quantile (§4.3): ess_basic of the split indicator chains
// 1{θ ≤ q̂_prob}, q̂ the type-7 sample quantile (prob = 1 uses (S − 1/2)/S, as posterior).
// Throws ConfigError for prob outside [0, 1].
double ess_quantile(const Eigen::Ref<const Eigen::MatrixXd>& draws, double prob);

namespace detail {

// posterior's .ess(): ESS of the columns as given (no splitting). NaN for fewer than 3
// draws or when is_finite_and_nonconstant() fails; no other check.
double ess_of_chains(const Eigen::Ref<const Eigen::MatrixXd>& chains);

}  // namespace detail

}  // namespace kernelmc::sampling
