#pragma once
// Potential scale reduction R̂, exactly as Vehtari, Gelman, Simpson, Carpenter & Bürkner
// (2021), "Rank-normalization, folding, and localization: an improved R-hat",
// arXiv:1903.08008, and R posterior 1.4.0 (rhat(), rhat_basic(), .rhat()).
//
// Every function takes draws × chains and returns NaN, never throws, when the chains the
// estimator sees (the split halves, unless split = false) fail is_diagnosable(): fewer
// than kMinDrawsPerChain draws, a non-finite draw, or a constant chain. The paper's rule
// of thumb: R̂ < 1.01 before trusting the draws.
#include <Eigen/Core>

namespace kernelmc::sampling {

// Classical R̂ (§3.1, eqs. 1–4; Gelman & Rubin 1992), on the split chains by default:
// sqrt(((n − 1)/n · W + B/n) / W), W the mean within-chain variance, B/n the variance of
// the chain means.
double rhat_basic(const Eigen::Ref<const Eigen::MatrixXd>& draws, bool split = true);

// Bulk R̂ (§4.1): rhat_basic of the rank-normalised split chains.
double rhat_bulk(const Eigen::Ref<const Eigen::MatrixXd>& draws);

// Tail R̂ (§4.2): rhat_basic of the rank-normalised split chains of the folded draws
// |θ − median θ|.
double rhat_tail(const Eigen::Ref<const Eigen::MatrixXd>& draws);

// The recommended R̂ (§4.2): max(rhat_bulk, rhat_tail); NaN if either is.
double rhat(const Eigen::Ref<const Eigen::MatrixXd>& draws);

namespace detail {

// posterior's .rhat(): classical R̂ of the columns as given (no splitting). NaN for fewer
// than 2 chains or 2 draws, or when is_finite_and_nonconstant() fails; no other check.
double rhat_of_chains(const Eigen::Ref<const Eigen::MatrixXd>& chains);

}  // namespace detail

}  // namespace kernelmc::sampling
