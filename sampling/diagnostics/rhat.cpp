#include "sampling/diagnostics/rhat.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "sampling/diagnostics/check_chains.hpp"
#include "sampling/diagnostics/rank_normalization.hpp"
#include "sampling/diagnostics/split_chains.hpp"

namespace kernelmc::sampling {

namespace detail {

// Vehtari et al. (2021) §3.1, eqs. 1–4.
double rhat_of_chains(const Eigen::Ref<const Eigen::MatrixXd>& chains) {
  const Eigen::Index n = chains.rows();
  const Eigen::Index m = chains.cols();
  if (n < 2 || m < 2 || !is_finite_and_nonconstant(chains)) return kNoDiagnostic;
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
  const std::optional<Eigen::MatrixXd> chains = chains_to_diagnose(draws, split);
  return chains ? detail::rhat_of_chains(*chains) : kNoDiagnostic;
}

double rhat_bulk(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  const std::optional<Eigen::MatrixXd> halves = chains_to_diagnose(draws);
  return halves ? detail::rhat_of_chains(rank_normalize(*halves)) : kNoDiagnostic;
}

double rhat_tail(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  if (!chains_to_diagnose(draws)) return kNoDiagnostic;
  return detail::rhat_of_chains(rank_normalize(split_chains(fold_draws(draws))));
}

double rhat(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  const double bulk = rhat_bulk(draws);
  const double tail = rhat_tail(draws);
  if (std::isnan(bulk) || std::isnan(tail)) return kNoDiagnostic;
  return std::max(bulk, tail);
}

}  // namespace kernelmc::sampling
