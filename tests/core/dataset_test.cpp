// Tests of core/dataset.cpp: validate(Dataset) and the input kernel C^(1).
#include "core/dataset.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "core/error.hpp"

namespace kernelmc::core {
namespace {

Dataset small() {
  Dataset data;
  data.inputs = (Eigen::MatrixXd(2, 2) << 1, 2, 3, 4).finished();
  data.targets = (Eigen::MatrixXd(2, 1) << 1, -1).finished();
  data.name = "small";
  return data;
}

TEST(Dataset, ValidAcceptsAWellFormedSet) { EXPECT_NO_THROW(validate(small())); }

TEST(Dataset, RejectsNonFiniteEntriesNamingRowAndColumn) {
  Dataset data = small();
  data.inputs(1, 0) = std::numeric_limits<double>::quiet_NaN();
  try {
    validate(data);
    FAIL();
  } catch (const DataError& error) {
    EXPECT_NE(std::string(error.what()).find("small inputs row 2, column 1"), std::string::npos)
        << error.what();
  }
  data = small();
  data.targets(0, 0) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(validate(data), DataError);
}

TEST(Dataset, RejectsEmptyOrMismatchedShapes) {
  Dataset data = small();
  data.targets.resize(3, 1);
  data.targets.setZero();
  EXPECT_THROW(validate(data), DataError);
  data = small();
  data.inputs.resize(0, 2);
  EXPECT_THROW(validate(data), DataError);
  data = small();
  data.targets.resize(2, 0);
  EXPECT_THROW(validate(data), DataError);
}

TEST(InputKernel, EqualsScaledGramPlusBias) {
  // THEORY.md §1.3: C^(1) = (g/d) X Xᵀ + σ_b² 𝟏𝟏ᵀ, against the plain product; exact
  // up to summation order (tolerance 1e-14).
  const Eigen::MatrixXd X = (Eigen::MatrixXd(3, 2) << 1, -2, 0.5, 3, -1, 0.25).finished();
  const Eigen::MatrixXd C = input_kernel(X, 1.5, 0.2);
  const Eigen::MatrixXd expected =
      (1.5 / 2.0) * X * X.transpose() + Eigen::MatrixXd::Constant(3, 3, 0.2);
  EXPECT_TRUE(C.isApprox(expected, 1e-14));
  EXPECT_EQ(C, C.transpose());
}

}  // namespace
}  // namespace kernelmc::core
