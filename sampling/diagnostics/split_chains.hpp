#pragma once
// Splitting each chain into its two halves (Vehtari et al. 2021, arXiv:1903.08008, §4.1:
// "split-R̂"): a chain that drifts then has halves that disagree, which R̂ detects.
#include <Eigen/Core>

namespace kernelmc::sampling {

// draws × chains → floor(draws/2) × (2·chains). Columns 0..chains−1 are the first halves,
// columns chains..2·chains−1 the second halves, in chain order. With an odd number of
// draws the middle draw is dropped (R posterior 1.4.0, .split_chains). A single draw is
// returned unchanged, as posterior does.
Eigen::MatrixXd split_chains(const Eigen::Ref<const Eigen::MatrixXd>& draws);

}  // namespace kernelmc::sampling
