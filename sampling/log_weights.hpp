#pragma once
// Importance weights carried as log weights (STYLE.md §4: a degenerate weight set is data,
// never a silently wrong mean). Every function subtracts the largest log weight before
// exponentiating (log-sum-exp), so weights far below the double range still normalise.
#include <Eigen/Core>

namespace kernelmc::sampling {

// log Σ_i e^{x_i}; −inf for an empty vector or when every entry is −inf; NaN if an entry
// is NaN or +inf (no finite normalisation exists).
double log_sum_exp(const Eigen::Ref<const Eigen::VectorXd>& log_weights);

// w̃_i = e^{x_i − log Σ e^x}, summing to 1. Throws NumericalError naming `what` when
// log_sum_exp is not finite (every weight underflowed to −inf, or a NaN/+inf weight).
Eigen::VectorXd normalized_weights(const Eigen::Ref<const Eigen::VectorXd>& log_weights,
                                   const char* what);

// Kish's effective sample size (Σw)²/Σw² of the weights e^{x_i} (Kish 1965); between 1
// and n for finite weights, NaN when log_sum_exp is not finite.
double kish_effective_sample_size(const Eigen::Ref<const Eigen::VectorXd>& log_weights);

}  // namespace kernelmc::sampling
