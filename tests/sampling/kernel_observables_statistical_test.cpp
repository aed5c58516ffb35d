// The batch-means standard error (sampling/kernel_observables.hpp) on independent draws,
// where its expectation is known.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.hpp"
#include "sampling/kernel_observables.hpp"
#include "support/statistical.hpp"

namespace kernelmc::sampling {
namespace {

TEST(BatchMeansStatistical, StandardErrorOfIndependentDrawsIsSigmaOverRootN) {
  // 40 000 i.i.d. N(0, 4) draws in 4 chains × 100 batches: SE should be 2/√n. The SE
  // estimate has J − 1 = 399 degrees of freedom, relative sd 1/√(2·399) = 3.5 %; 4.5 of
  // those: tolerance 16 % (false-fail ≈ 7e-6; χ₃₉₉ is close to normal). Twin: an SE that
  // forgot the pooling over 4 chains (2/√(n/4), twice the truth) is rejected.
  std::vector<BatchMeans> chains(4, BatchMeans(1, 10000, 100));
  for (std::size_t c = 0; c < 4; ++c) {
    core::Engine engine = core::make_stream(testing::test_seed(3), core::StreamPurpose::test, 1, c);
    const Eigen::MatrixXd x = 2.0 * core::standard_normal_matrix(engine, 1, 10000);
    for (Eigen::Index i = 0; i < 10000; ++i) chains[c].add(i, x.col(i));
  }
  const BatchMeansEstimate e = pool_batch_means({&chains[0], &chains[1], &chains[2], &chains[3]});
  const double tolerance = 4.5 / std::sqrt(2.0 * 399.0);
  EXPECT_NEAR(e.se(0) / (2.0 / 200.0), 1.0, tolerance);
  EXPECT_GT(std::abs(e.se(0) / (2.0 / 100.0) - 1.0), tolerance);
}

}  // namespace
}  // namespace kernelmc::sampling
