#include "sampling/diagnostics/pareto_k.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "sampling/log_weights.hpp"

namespace kernelmc::sampling {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr Eigen::Index kMinTailDraws = 5;  // loo's enough_tail_samples(min_len = 5)
constexpr Eigen::Index kMinGridPoints = 30;  // gpdfit(min_grid_pts = 30)
constexpr double kPriorStrength = 3.0;       // gpdfit's `prior <- 3` (Zhang & Stephens §4)
constexpr double kShrinkagePseudoCount = 10.0;  // adjust_k_wip: a = 10, toward k = 0.5

// loo's lx(a, x): the profile log-likelihood per draw at θ = −a... written for θ:
//   k(θ) = mean log(1 − θx),  lx = log(−θ/k) − k − 1.
double profile_log_likelihood(double theta, const Eigen::Ref<const Eigen::VectorXd>& x) {
  const double k = (-theta * x.array()).log1p().mean();
  return std::log(-theta / k) - k - 1.0;
}

}  // namespace

Eigen::Index pareto_tail_length(Eigen::Index draws, double relative_efficiency) {
  const double S = static_cast<double>(draws);
  return static_cast<Eigen::Index>(std::ceil(std::min(0.2 * S, 3.0 * std::sqrt(S / relative_efficiency))));
}

GeneralizedParetoFit generalized_pareto_fit(const Eigen::Ref<const Eigen::VectorXd>& x) {
  const Eigen::Index n = x.size();
  const Eigen::Index grid = kMinGridPoints + static_cast<Eigen::Index>(std::floor(std::sqrt(static_cast<double>(n))));
  // x[floor(n/4 + 0.5)] in R's 1-based indexing: the first quartile.
  const double quartile = x(static_cast<Eigen::Index>(std::floor(static_cast<double>(n) / 4.0 + 0.5)) - 1);
  Eigen::VectorXd theta(grid), log_lik(grid);
  for (Eigen::Index j = 0; j < grid; ++j) {
    const double jj = static_cast<double>(j + 1);
    theta(j) = 1.0 / x(n - 1) + (1.0 - std::sqrt(static_cast<double>(grid) / (jj - 0.5))) / kPriorStrength / quartile;
    log_lik(j) = static_cast<double>(n) * profile_log_likelihood(theta(j), x);
  }
  // Posterior mean of θ under the grid's profile likelihood (normalised by log-sum-exp).
  const Eigen::VectorXd weight = (log_lik.array() - log_sum_exp(log_lik)).exp().matrix();
  const double theta_hat = theta.dot(weight);
  double k = (-theta_hat * x.array()).log1p().mean();
  const double sigma = -k / theta_hat;
  const double nn = static_cast<double>(n);
  k = k * nn / (nn + kShrinkagePseudoCount) + kShrinkagePseudoCount * 0.5 / (nn + kShrinkagePseudoCount);
  if (std::isnan(k)) k = kInfinity;
  return {k, sigma};
}

double pareto_k_hat(const Eigen::Ref<const Eigen::VectorXd>& log_weights, double relative_efficiency) {
  const Eigen::Index S = log_weights.size();
  if (S == 0 || !std::isfinite(log_sum_exp(log_weights))) return kNaN;
  const Eigen::Index tail = pareto_tail_length(S, relative_efficiency);
  if (tail < kMinTailDraws || tail >= S) return kInfinity;
  // The tail + 1 largest log weights in ascending order: the cutoff, then the tail.
  std::vector<double> top(log_weights.data(), log_weights.data() + S);
  std::nth_element(top.begin(), top.end() - (tail + 1), top.end());
  std::sort(top.end() - (tail + 1), top.end());
  const double largest = top.back();
  const double cutoff = top[static_cast<std::size_t>(S - tail - 1)];
  const double smallest_tail = top[static_cast<std::size_t>(S - tail)];
  // loo: a tail whose log weights span less than eps/100 cannot be fitted.
  if (std::abs(largest - smallest_tail) < std::numeric_limits<double>::epsilon() / 100.0) return kInfinity;
  // Weights shifted by the largest (loo: lw − max(lw)), exceedances over the cutoff.
  const double exp_cutoff = std::exp(cutoff - largest);
  Eigen::VectorXd exceedances(tail);
  for (Eigen::Index i = 0; i < tail; ++i)
    exceedances(i) = std::exp(top[static_cast<std::size_t>(S - tail + i)] - largest) - exp_cutoff;
  return generalized_pareto_fit(exceedances).k;
}

}  // namespace kernelmc::sampling
