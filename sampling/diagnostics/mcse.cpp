#include "sampling/diagnostics/mcse.hpp"

#include <algorithm>
#include <boost/math/special_functions/beta.hpp>
#include <cmath>
#include <vector>

#include "sampling/diagnostics/check_chains.hpp"
#include "sampling/diagnostics/ess.hpp"
#include "sampling/diagnostics/split_chains.hpp"

namespace kernelmc::sampling {

namespace {

// Φ(−1) and Φ(1) to 7 digits, the literals of posterior's .mcse_quantile() (kept so the
// Beta quantiles, and the order statistics they pick, match posterior's).
constexpr double kLowerNormalTail = 0.1586553;
constexpr double kUpperNormalTail = 0.8413447;

}  // namespace

double mcse_mean(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  const double ess = ess_mean(draws);
  if (std::isnan(ess)) return kNoDiagnostic;
  const double S = static_cast<double>(draws.size());
  const double sd = std::sqrt((draws.array() - draws.mean()).square().sum() / (S - 1.0));
  return sd / std::sqrt(ess);
}

double mcse_sd(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  if (!chains_to_diagnose(draws)) return kNoDiagnostic;
  const Eigen::ArrayXXd centred = draws.array() - draws.mean();
  const Eigen::MatrixXd squares = centred.square().matrix();
  const double ess = detail::ess_of_chains(split_chains(squares));
  const double m2 = squares.mean();                  // E[(θ − θ̄)²]
  const double m4 = squares.array().square().mean();  // E[(θ − θ̄)⁴]
  const double var_var = (m4 - m2 * m2) / ess;
  return std::sqrt(var_var / m2 / 4.0);
}

double mcse_quantile(const Eigen::Ref<const Eigen::MatrixXd>& draws, double prob) {
  const double ess = ess_quantile(draws, prob);  // checks prob, NaN on degenerate input
  if (std::isnan(ess)) return kNoDiagnostic;
  const double a = ess * prob + 1.0;
  const double b = ess * (1.0 - prob) + 1.0;
  const double lower = boost::math::ibeta_inv(a, b, kLowerNormalTail);
  const double upper = boost::math::ibeta_inv(a, b, kUpperNormalTail);

  std::vector<double> sorted(static_cast<std::size_t>(draws.size()));
  Eigen::Map<Eigen::MatrixXd>(sorted.data(), draws.rows(), draws.cols()) = draws;
  std::sort(sorted.begin(), sorted.end());
  const auto S = static_cast<Eigen::Index>(sorted.size());
  // 1-based order statistics max(floor(lower·S), 1) and min(ceiling(upper·S), S).
  const Eigen::Index i1 = std::max(static_cast<Eigen::Index>(std::floor(lower * static_cast<double>(S))), Eigen::Index{1});
  const Eigen::Index i2 = std::min(static_cast<Eigen::Index>(std::ceil(upper * static_cast<double>(S))), S);
  return (sorted[static_cast<std::size_t>(i2 - 1)] - sorted[static_cast<std::size_t>(i1 - 1)]) / 2.0;
}

}  // namespace kernelmc::sampling
