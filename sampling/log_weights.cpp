#include "sampling/log_weights.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "core/error.hpp"

namespace kernelmc::sampling {

double log_sum_exp(const Eigen::Ref<const Eigen::VectorXd>& log_weights) {
  constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();
  if (log_weights.size() == 0) return kMinusInfinity;
  if (log_weights.array().isNaN().any()) return std::numeric_limits<double>::quiet_NaN();
  const double top = log_weights.maxCoeff();
  if (top == kMinusInfinity) return kMinusInfinity;
  if (!std::isfinite(top)) return std::numeric_limits<double>::quiet_NaN();
  return top + std::log((log_weights.array() - top).exp().sum());
}

Eigen::VectorXd normalized_weights(const Eigen::Ref<const Eigen::VectorXd>& log_weights,
                                   const char* what) {
  const double log_total = log_sum_exp(log_weights);
  if (!std::isfinite(log_total))
    throw NumericalError(std::string(what) + ": the importance weights cannot be normalised (log sum = " +
                         std::to_string(log_total) +
                         "): every weight underflowed, or a weight is NaN or infinite");
  // e^{x − max} / Σ e^{x − max}: exact to rounding, unlike e^{x − log Σ} whose exponent
  // carries the absolute rounding error of a large log_total.
  const Eigen::ArrayXd shifted = (log_weights.array() - log_weights.maxCoeff()).exp();
  return (shifted / shifted.sum()).matrix();
}

double kish_effective_sample_size(const Eigen::Ref<const Eigen::VectorXd>& log_weights) {
  if (!std::isfinite(log_sum_exp(log_weights))) return std::numeric_limits<double>::quiet_NaN();
  const Eigen::ArrayXd shifted = (log_weights.array() - log_weights.maxCoeff()).exp();
  return shifted.sum() * shifted.sum() / shifted.square().sum();
}

}  // namespace kernelmc::sampling
