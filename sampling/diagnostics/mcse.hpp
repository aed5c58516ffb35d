#pragma once
// Monte Carlo standard errors, exactly as R posterior 1.4.0 (mcse_mean(), mcse_sd(),
// mcse_quantile(), .mcse_quantile()), after Vehtari, Gelman, Simpson, Carpenter &
// Bürkner (2021), arXiv:1903.08008, §4.4 (quantiles) and the ESS of ess.hpp.
//
// All take draws × chains and return NaN, never throw, on degenerate input (see ess.hpp).
#include <Eigen/Core>

namespace kernelmc::sampling {

// sd(θ) / sqrt(ess_mean(θ)), sd over all draws with divisor S − 1.
double mcse_mean(const Eigen::Ref<const Eigen::MatrixXd>& draws);

// MCSE of the standard deviation by the delta method, with the ESS of the squared
// centred draws: Var(s²) ≈ (m₄ − m₂²)/ESS, se(s) ≈ sqrt(Var(s²) / (4 m₂)).
double mcse_sd(const Eigen::Ref<const Eigen::MatrixXd>& draws);

// MCSE of the prob-quantile (§4.4): half the distance between the sorted draws at the
// 15.87 % and 84.13 % points of Beta(ESS·p + 1, ESS·(1 − p) + 1), ESS = ess_quantile.
// Throws ConfigError for prob outside [0, 1].
double mcse_quantile(const Eigen::Ref<const Eigen::MatrixXd>& draws, double prob);

}  // namespace kernelmc::sampling
