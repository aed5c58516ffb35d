#include "sampling/diagnostics/split_chains.hpp"

namespace kernelmc::sampling {

Eigen::MatrixXd split_chains(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  const Eigen::Index n = draws.rows();
  const Eigen::Index m = draws.cols();
  if (n == 1) return draws;
  const Eigen::Index half = n / 2;
  Eigen::MatrixXd split(half, 2 * m);
  split.leftCols(m) = draws.topRows(half);
  split.rightCols(m) = draws.bottomRows(half);  // skips the middle draw when n is odd
  return split;
}

}  // namespace kernelmc::sampling
