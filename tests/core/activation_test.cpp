// Tests of core/activation.cpp: derivatives against central finite differences, matrix
// forms against scalar forms, names.
#include "core/activation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/error.hpp"

namespace kernelmc::core {
namespace {

constexpr Activation kAll[] = {Activation::linear, Activation::relu, Activation::erf,
                               Activation::tanh};

// Points away from ReLU's kink at 0.
std::vector<double> test_points() {
  std::vector<double> xs;
  for (double x = -3.05; x <= 3.0; x += 0.25) xs.push_back(x);
  return xs;
}

TEST(Activation, DerivativesMatchCentralFiniteDifferences) {
  // Central difference with h = 1e-5: truncation h²/6·|f'''| ≤ 1e-10 for these φ (|f'''| ≤ 5),
  // rounding ≈ ε·|f|/h ≤ 1e-10 at |x| ≤ 3; tolerance 1e-8.
  const double h = 1e-5;
  for (Activation a : kAll) {
    for (double x : test_points()) {
      const double d1 = (activation_value(a, x + h) - activation_value(a, x - h)) / (2 * h);
      EXPECT_NEAR(activation_derivative(a, x), d1, 1e-8) << activation_name(a) << " x=" << x;
      const double d2 =
          (activation_derivative(a, x + h) - activation_derivative(a, x - h)) / (2 * h);
      EXPECT_NEAR(activation_second_derivative(a, x), d2, 1e-8) << activation_name(a) << " x=" << x;
    }
  }
}

TEST(Activation, ErfSlopeAtZeroIsTwoOverSqrtPi) {
  EXPECT_DOUBLE_EQ(activation_derivative(Activation::erf, 0.0), 2.0 * std::numbers::inv_sqrtpi);
  EXPECT_EQ(activation_value(Activation::relu, -1.0), 0.0);
  EXPECT_EQ(activation_value(Activation::linear, -1.5), -1.5);
}

TEST(Activation, MatrixFormsEqualScalarFormsAndMayAlias) {
  Eigen::MatrixXd h(3, 4);
  h << -2, -0.5, 0.3, 1.7, 0.01, -0.01, 2.5, -3, 1, 0.25, -1.25, 0.75;
  for (Activation a : kAll) {
    Eigen::MatrixXd value(3, 4), slope(3, 4);
    apply_activation(a, h, value);
    apply_activation_derivative(a, h, slope);
    for (Eigen::Index i = 0; i < h.rows(); ++i) {
      for (Eigen::Index j = 0; j < h.cols(); ++j) {
        EXPECT_EQ(value(i, j), activation_value(a, h(i, j))) << activation_name(a);
        EXPECT_NEAR(slope(i, j), activation_derivative(a, h(i, j)), 1e-15) << activation_name(a);
      }
    }
    Eigen::MatrixXd in_place = h;
    apply_activation(a, in_place, in_place);
    EXPECT_EQ(in_place, value);
  }
}

TEST(Activation, NamesRoundTripAndUnknownNameIsRejected) {
  for (Activation a : kAll) EXPECT_EQ(parse_activation(activation_name(a)), a);
  try {
    parse_activation("sigmoid", "data.teacher_activation");
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("data.teacher_activation = \"sigmoid\""),
              std::string::npos);
  }
}

}  // namespace
}  // namespace kernelmc::core
