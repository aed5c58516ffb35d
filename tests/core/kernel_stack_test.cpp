// Tests of core/kernel_stack.cpp: layer numbering and the upper-triangle index helpers.
#include "core/kernel_stack.hpp"

#include <gtest/gtest.h>

namespace kernelmc::core {
namespace {

TEST(KernelStack, LayersAreNumberedFromOne) {
  KernelStack stack = zero_kernel_stack(4, 3);
  EXPECT_EQ(stack.top_layer(), 4);
  stack.layer(1)(0, 0) = 1.0;
  stack.layer(4)(2, 2) = 4.0;
  EXPECT_EQ(stack.kernels.front()(0, 0), 1.0);
  EXPECT_EQ(stack.kernels.back()(2, 2), 4.0);
  EXPECT_EQ(stack.layer(2).rows(), 3);
  EXPECT_EQ(stack.layer(3).squaredNorm(), 0.0);
}

TEST(TriangleIndex, PairAndIndexAreInverseInRowMajorOrder) {
  for (Eigen::Index P = 1; P <= 9; ++P) {
    Eigen::Index k = 0;
    for (Eigen::Index a = 0; a < P; ++a) {
      for (Eigen::Index b = a; b < P; ++b, ++k) {
        EXPECT_EQ(triangle_index(a, b, P), k);
        EXPECT_EQ(triangle_index(b, a, P), k);  // symmetric
        EXPECT_EQ(triangle_pair(k, P), std::make_pair(a, b));
      }
    }
    EXPECT_EQ(k, triangle_size(P));
  }
}

TEST(UpperTriangle, RoundTripsASymmetricMatrix) {
  Eigen::MatrixXd A(4, 4);
  A << 1, 2, 3, 4, 2, 5, 6, 7, 3, 6, 8, 9, 4, 7, 9, 10;
  const Eigen::VectorXd entries = upper_triangle(A);
  ASSERT_EQ(entries.size(), 10);
  EXPECT_EQ(entries, (Eigen::VectorXd(10) << 1, 2, 3, 4, 5, 6, 7, 8, 9, 10).finished());
  EXPECT_EQ(from_upper_triangle(entries, 4), A);
  EXPECT_EQ(entries(triangle_index(2, 1, 4)), A(1, 2));
}

}  // namespace
}  // namespace kernelmc::core
