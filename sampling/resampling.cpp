#include "sampling/resampling.hpp"

#include <cassert>

namespace kernelmc::sampling {

std::vector<Eigen::Index> systematic_resampling(const Eigen::Ref<const Eigen::VectorXd>& weights,
                                                Eigen::Index count, double uniform) {
  assert(weights.size() > 0 && uniform >= 0.0 && uniform < 1.0);
  std::vector<Eigen::Index> ancestors(static_cast<std::size_t>(count));
  const Eigen::Index last = weights.size() - 1;
  Eigen::Index j = 0;
  double cumulative = weights(0);
  for (Eigen::Index i = 0; i < count; ++i) {
    const double position = (static_cast<double>(i) + uniform) / static_cast<double>(count);
    // Rounding can leave the total a few ulps below 1: the last particle takes the rest.
    while (position >= cumulative && j < last) cumulative += weights(++j);
    ancestors[static_cast<std::size_t>(i)] = j;
  }
  return ancestors;
}

}  // namespace kernelmc::sampling
