#pragma once
// The sample quantile R's quantile(x, prob) returns by default (type 7, Hyndman & Fan
// 1996): linear interpolation between order statistics at h = 1 + (S − 1)·prob. The
// tail ESS and the folded R̂ of Vehtari et al. (2021) are defined through it.
#include <Eigen/Core>

namespace kernelmc::sampling {

// Throws ConfigError ("quantile probability = 1.5: must lie in [0, 1]") unless prob is a
// number in [0, 1].
void check_probability(double prob);

// Type-7 quantile of all entries of `draws` (every chain pooled), prob ∈ [0, 1].
// Returns NaN for an empty matrix or any NaN entry; throws ConfigError for a prob
// outside [0, 1].
double sample_quantile(const Eigen::Ref<const Eigen::MatrixXd>& draws, double prob);

// sample_quantile(draws, 0.5): the middle value, or the mean of the two middle values.
double sample_median(const Eigen::Ref<const Eigen::MatrixXd>& draws);

}  // namespace kernelmc::sampling
