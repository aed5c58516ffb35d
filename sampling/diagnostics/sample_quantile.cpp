#include "sampling/diagnostics/sample_quantile.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "core/error.hpp"

namespace kernelmc::sampling {

void check_probability(double prob) {
  if (prob >= 0.0 && prob <= 1.0) return;
  std::ostringstream message;
  message << "quantile probability = " << prob << ": must lie in [0, 1]";
  throw ConfigError(message.str());
}

double sample_quantile(const Eigen::Ref<const Eigen::MatrixXd>& draws, double prob) {
  check_probability(prob);
  const Eigen::Index S = draws.size();
  if (S == 0 || draws.hasNaN()) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> sorted;
  sorted.reserve(static_cast<std::size_t>(S));
  for (Eigen::Index c = 0; c < draws.cols(); ++c)
    for (Eigen::Index r = 0; r < draws.rows(); ++r) sorted.push_back(draws(r, c));
  // R, in R's 1-based arithmetic (so the rounding of h matches): index = 1 + (S − 1)·prob,
  // lo = floor(index), hi = ceiling(index), h = index − lo, and
  // q = (1 − h)·x[lo] + h·x[hi] unless x[hi] == x[lo].
  const double index = 1.0 + static_cast<double>(S - 1) * prob;
  const double lo = std::floor(index);
  const auto lo0 = static_cast<std::ptrdiff_t>(lo) - 1;  // 0-based
  const auto hi0 = static_cast<std::ptrdiff_t>(std::ceil(index)) - 1;
  std::nth_element(sorted.begin(), sorted.begin() + lo0, sorted.end());
  const double x_lo = sorted[static_cast<std::size_t>(lo0)];
  if (hi0 == lo0) return x_lo;
  // After nth_element every element right of lo0 is ≥ x_lo; the smallest is x[hi].
  const double x_hi = *std::min_element(sorted.begin() + hi0, sorted.end());
  if (x_hi == x_lo) return x_lo;
  const double h = index - lo;
  return (1.0 - h) * x_lo + h * x_hi;
}

double sample_median(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  return sample_quantile(draws, 0.5);
}

}  // namespace kernelmc::sampling
