#include "sampling/resampling.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace kernelmc::sampling {
namespace {

std::vector<Eigen::Index> copies(const std::vector<Eigen::Index>& ancestors, Eigen::Index particles) {
  std::vector<Eigen::Index> count(static_cast<std::size_t>(particles), 0);
  for (Eigen::Index a : ancestors) ++count[static_cast<std::size_t>(a)];
  return count;
}

TEST(SystematicResampling, EveryParticleGetsFloorOrCeilOfNTimesItsWeight) {
  const Eigen::Vector4d w(0.1, 0.45, 0.05, 0.4);
  for (double u : {0.0, 0.13, 0.5, 0.77, 0.999}) {
    const std::vector<Eigen::Index> ancestors = systematic_resampling(w, 10, u);
    ASSERT_EQ(ancestors.size(), 10u);
    const std::vector<Eigen::Index> count = copies(ancestors, 4);
    for (Eigen::Index j = 0; j < 4; ++j) {
      const double expected = 10.0 * w(j);
      EXPECT_GE(count[static_cast<std::size_t>(j)], std::floor(expected - 1e-12)) << "u " << u << " j " << j;
      EXPECT_LE(count[static_cast<std::size_t>(j)], std::ceil(expected + 1e-12)) << "u " << u << " j " << j;
    }
    for (std::size_t i = 1; i < ancestors.size(); ++i) EXPECT_LE(ancestors[i - 1], ancestors[i]);
  }
}

TEST(SystematicResampling, ZeroWeightParticlesAreNeverChosen) {
  const Eigen::Vector3d w(0.0, 1.0, 0.0);
  for (double u : {0.0, 0.5, 0.999999}) {
    for (Eigen::Index a : systematic_resampling(w, 7, u)) EXPECT_EQ(a, 1);
  }
}

TEST(SystematicResampling, AveragingOverTheUniformGivesNTimesTheWeight) {
  // E_u[#copies of j] = n w_j exactly: averaging over a fine midpoint grid of u recovers it
  // to the grid's resolution (copies are step functions of u; error ≤ 2/grid per particle).
  const Eigen::Vector4d w(0.123, 0.377, 0.2, 0.3);
  constexpr int kGrid = 10000;
  Eigen::Vector4d mean = Eigen::Vector4d::Zero();
  for (int g = 0; g < kGrid; ++g) {
    const std::vector<Eigen::Index> count = copies(systematic_resampling(w, 6, (g + 0.5) / kGrid), 4);
    for (Eigen::Index j = 0; j < 4; ++j) mean(j) += static_cast<double>(count[static_cast<std::size_t>(j)]) / kGrid;
  }
  for (Eigen::Index j = 0; j < 4; ++j) EXPECT_NEAR(mean(j), 6.0 * w(j), 2.0 / kGrid);
}

}  // namespace
}  // namespace kernelmc::sampling
