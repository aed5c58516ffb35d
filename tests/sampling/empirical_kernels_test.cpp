#include "sampling/empirical_kernels.hpp"

#include <gtest/gtest.h>

#include "core/rng.hpp"

namespace kernelmc::sampling {
namespace {

TEST(EmpiricalKernel, EqualsBiasPlusScaledGramMatrix) {
  core::Engine engine = core::make_stream(3, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd Phi = core::standard_normal_matrix(engine, 5, 7);
  const double g = 1.7, bias_variance = 0.3;
  const Eigen::MatrixXd C = empirical_kernel(Phi, g, bias_variance);
  // THEORY.md §1.3 written out as a plain product.
  const Eigen::MatrixXd expected =
      Eigen::MatrixXd::Constant(5, 5, bias_variance) + (g / 7.0) * Phi * Phi.transpose();
  // Rounding only: the rank update sums the same 7 products in another order (tolerance 1e-14).
  EXPECT_LT((C - expected).cwiseAbs().maxCoeff(), 1e-14 * expected.cwiseAbs().maxCoeff());
  EXPECT_TRUE(C == C.transpose());  // mirrored, so exactly symmetric
}

TEST(EmpiricalKernel, WritesIntoABlockOfALargerBuffer) {
  core::Engine engine = core::make_stream(4, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd buffer = core::standard_normal_matrix(engine, 3, 10);
  Eigen::MatrixXd out = Eigen::MatrixXd::Constant(5, 5, -7.0);
  empirical_kernel(buffer.leftCols(4), 2.0, 0.0, out.topLeftCorner(3, 3));
  EXPECT_TRUE(out.topLeftCorner(3, 3) == empirical_kernel(buffer.leftCols(4), 2.0, 0.0));
  EXPECT_EQ(out(4, 4), -7.0);  // nothing outside the block is touched
  EXPECT_EQ(out(0, 3), -7.0);
}

}  // namespace
}  // namespace kernelmc::sampling
