#pragma once
// When a convergence diagnostic has nothing to say (STYLE.md §4: a diagnostic on constant
// or non-finite draws returns NaN). Two rules, one per layer of the computation:
//   - is_diagnosable: the public diagnostics' input rule, after stan-dev/stan
//     src/stan/analyze/mcmc/check_chains.hpp, applied to the chains each estimator
//     sees (the split halves for split diagnostics);
//   - is_finite_and_nonconstant: R posterior's should_return_NA() (negated), applied,
//     as posterior does, to the transformed draws inside a diagnostic (ranks, folded
//     draws, quantile indicators).
#include <Eigen/Core>
#include <limits>
#include <optional>

namespace kernelmc::sampling {

// Fewest draws per (split) chain a diagnostic accepts; below it every diagnostic is NaN
// (stan-dev/stan analyze/mcmc/ess.hpp: "the number of draws per chain must be > 3").
inline constexpr Eigen::Index kMinDrawsPerChain = 4;

// True when `chains` (draws × chains) has at least one column and kMinDrawsPerChain
// rows, every draw is finite, and no column is constant (a stuck chain).
bool is_diagnosable(const Eigen::Ref<const Eigen::MatrixXd>& chains);

// The value of a diagnostic on degenerate input.
inline constexpr double kNoDiagnostic = std::numeric_limits<double>::quiet_NaN();

// The chains an estimator sees, split_chains(draws) or with split = false the draws
// themselves, if they pass is_diagnosable(); std::nullopt otherwise.
std::optional<Eigen::MatrixXd> chains_to_diagnose(const Eigen::Ref<const Eigen::MatrixXd>& draws,
                                                  bool split = true);

// True when every entry is finite and max − min ≥ machine epsilon (absolute, as in
// posterior's is_constant()). An empty matrix is not.
bool is_finite_and_nonconstant(const Eigen::Ref<const Eigen::MatrixXd>& draws);

}  // namespace kernelmc::sampling
