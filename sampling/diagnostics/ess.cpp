#include "sampling/diagnostics/ess.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "sampling/diagnostics/autocovariance.hpp"
#include "sampling/diagnostics/check_chains.hpp"
#include "sampling/diagnostics/rank_normalization.hpp"
#include "sampling/diagnostics/sample_quantile.hpp"
#include "sampling/diagnostics/split_chains.hpp"

namespace kernelmc::sampling {

namespace detail {

// Vehtari et al. (2021) §3.2, line by line as posterior 1.4.0's .ess(); ρ̂ is indexed by
// lag (posterior's rho_hat_t[t + 1] is rho(t) here).
double ess_of_chains(const Eigen::Ref<const Eigen::MatrixXd>& chains) {
  const Eigen::Index n = chains.rows();
  const Eigen::Index m = chains.cols();
  if (n < 3 || !is_finite_and_nonconstant(chains)) return kNoDiagnostic;
  const Eigen::VectorXd acov_means = autocovariance(chains).rowwise().mean();
  const double mean_var = acov_means(0) * static_cast<double>(n) / static_cast<double>(n - 1);
  double var_plus = mean_var * static_cast<double>(n - 1) / static_cast<double>(n);  // eq. 3
  if (m > 1) {
    const Eigen::RowVectorXd chain_mean = chains.colwise().mean();
    var_plus += (chain_mean.array() - chain_mean.mean()).square().sum() /
                static_cast<double>(m - 1);  // B/n
  }
  const auto rho_at = [&](Eigen::Index t) { return 1.0 - (mean_var - acov_means(t)) / var_plus; };

  // Geyer's initial positive sequence (eq. 11): sum autocorrelation pairs
  // (ρ̂_{2k}, ρ̂_{2k+1}) while their sum is positive.
  Eigen::VectorXd rho = Eigen::VectorXd::Zero(n);
  Eigen::Index t = 0;
  double rho_even = 1.0;
  double rho_odd = rho_at(1);
  rho(0) = rho_even;
  rho(1) = rho_odd;
  while (t < n - 5 && !std::isnan(rho_even + rho_odd) && rho_even + rho_odd > 0.0) {
    t += 2;
    rho_even = rho_at(t);
    rho_odd = rho_at(t + 1);
    if (rho_even + rho_odd >= 0.0) {
      rho(t) = rho_even;
      rho(t + 1) = rho_odd;
    }
  }
  const Eigen::Index max_t = t;
  // §3.2 "in extreme antithetic cases": keep a positive last even lag.
  if (rho_even > 0.0) rho(max_t) = rho_even;

  // Initial monotone sequence: no pair sum may exceed the previous one.
  t = 0;
  while (t <= max_t - 4) {
    t += 2;
    if (rho(t) + rho(t + 1) > rho(t - 2) + rho(t - 1)) {
      rho(t) = (rho(t - 2) + rho(t - 1)) / 2.0;
      rho(t + 1) = rho(t);
    }
  }

  // eq. 13, τ̂ = −1 + 2 Σ_{t < max_t} ρ̂_t + ρ̂_{max_t}. With max_t = 0 (n ≤ 5) posterior's
  // sum(rho_hat_t[1:0]) is ρ̂_0, not an empty sum; kept, so τ̂ = 2 there.
  const double rho_sum = max_t == 0 ? rho(0) : rho.head(max_t).sum();
  const double draws_total = static_cast<double>(n * m);
  const double tau = -1.0 + 2.0 * rho_sum + rho(max_t);
  // posterior caps the ESS at S·log10(S) against unstable antithetic estimates.
  return draws_total / std::max(tau, 1.0 / std::log10(draws_total));
}

}  // namespace detail

double ess_basic(const Eigen::Ref<const Eigen::MatrixXd>& draws, bool split) {
  const std::optional<Eigen::MatrixXd> chains = chains_to_diagnose(draws, split);
  return chains ? detail::ess_of_chains(*chains) : kNoDiagnostic;
}

double ess_bulk(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  const std::optional<Eigen::MatrixXd> halves = chains_to_diagnose(draws);
  return halves ? detail::ess_of_chains(rank_normalize(*halves)) : kNoDiagnostic;
}

double ess_tail(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  // The 5 % and 95 % quantiles (§4.3).
  const double lower = ess_quantile(draws, 0.05);
  const double upper = ess_quantile(draws, 0.95);
  if (std::isnan(lower) || std::isnan(upper)) return kNoDiagnostic;
  return std::min(lower, upper);
}

double ess_mean(const Eigen::Ref<const Eigen::MatrixXd>& draws) { return ess_basic(draws); }

double ess_sd(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  if (!chains_to_diagnose(draws)) return kNoDiagnostic;
  return detail::ess_of_chains(split_chains((draws.array() - draws.mean()).abs().matrix()));
}

double ess_quantile(const Eigen::Ref<const Eigen::MatrixXd>& draws, double prob) {
  check_probability(prob);
  const std::optional<Eigen::MatrixXd> halves = chains_to_diagnose(draws);
  if (!halves) return kNoDiagnostic;
  if (prob == 1.0) {  // posterior: the indicator of the maximum would be constant
    const double S = static_cast<double>(draws.size());
    prob = (S - 0.5) / S;
  }
  const double q = sample_quantile(draws, prob);
  return detail::ess_of_chains((halves->array() <= q).cast<double>().matrix());
}

}  // namespace kernelmc::sampling
