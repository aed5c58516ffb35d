#pragma once
// Resampling of a weighted particle population (blackjax smc/resampling.py): a pure
// function of the normalised weights and the random numbers it is given, so the caller
// decides which stream draws them (STYLE.md §6).
#include <Eigen/Core>
#include <vector>

namespace kernelmc::sampling {

// Systematic resampling (Kitagawa 1996; Douc, Cappé & Moulines 2005): with one uniform
// u ∈ [0, 1), offspring slot i takes the particle j whose cumulative-weight interval
// [W_{j−1}, W_j) holds (i + u)/n. Unbiased (E[#copies of j] = n w_j) with the smallest
// spread of the standard schemes: particle j gets ⌊n w_j⌋ or ⌈n w_j⌉ copies. `weights`
// are normalised (non-negative, sum 1); returns n ancestors in non-decreasing order.
std::vector<Eigen::Index> systematic_resampling(const Eigen::Ref<const Eigen::VectorXd>& weights,
                                                Eigen::Index count, double uniform);

}  // namespace kernelmc::sampling
