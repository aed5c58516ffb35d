#include "sampling/diagnostics/rhat.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sampling/diagnostics/check_chains.hpp"
#include "sampling/diagnostics/rank_normalization.hpp"
#include "sampling/diagnostics/split_chains.hpp"

namespace kernelmc::sampling {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

namespace detail {

// Vehtari et al. (2021) §3.1, eqs. 1–4.
double rhat_of_chains(const Eigen::Ref<const Eigen::MatrixXd>& chains) {
  const Eigen::Index n = chains.rows();
  const Eigen::Index m = chains.cols();
  if (n < 2 || m < 2 || !is_finite_and_nonconstant(chains)) return kNaN;
  const Eigen::RowVectorXd chain_mean = chains.colwise().mean();
  const Eigen::RowVectorXd chain_var =
      (chains.rowwise() - chain_mean).colwise().squaredNorm() / static_cast<double>(n - 1);
  const double var_between =  // B = n · Var(chain means), divisor m − 1
      static_cast<double>(n) * (chain_mean.array() - chain_mean.mean()).square().sum() /
      static_cast<double>(m - 1);
  const double var_within = chain_var.mean();  // W
  return std::sqrt((var_between / var_within + static_cast<double>(n - 1)) /
                   static_cast<double>(n));
}

}  // namespace detail

double rhat_basic(const Eigen::Ref<const Eigen::MatrixXd>& draws, bool split) {
  if (!split) return is_diagnosable(draws) ? detail::rhat_of_chains(draws) : kNaN;
  const Eigen::MatrixXd halves = split_chains(draws);
  return is_diagnosable(halves) ? detail::rhat_of_chains(halves) : kNaN;
}

double rhat_bulk(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  const Eigen::MatrixXd halves = split_chains(draws);
  if (!is_diagnosable(halves)) return kNaN;
  return detail::rhat_of_chains(rank_normalize(halves));
}

double rhat_tail(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  if (!is_diagnosable(split_chains(draws))) return kNaN;
  return detail::rhat_of_chains(rank_normalize(split_chains(fold_draws(draws))));
}

double rhat(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  const double bulk = rhat_bulk(draws);
  const double tail = rhat_tail(draws);
  if (std::isnan(bulk) || std::isnan(tail)) return kNaN;
  return std::max(bulk, tail);
}

}  // namespace kernelmc::sampling
