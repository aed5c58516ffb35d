// Tests of core/activation.cpp: derivatives against central finite differences, the
// vectorised matrix forms against the scalar (libm) forms in ulp, names.
#include "core/activation.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
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

// Distance in units in the last place between two finite doubles (0 when equal, also
// for +0 and −0): the number of representable doubles between them.
std::int64_t ulp_distance(double a, double b) {
  const auto ordered = [](double x) {
    const auto bits = std::bit_cast<std::int64_t>(x);
    return bits < 0 ? std::numeric_limits<std::int64_t>::min() - bits : bits;
  };
  const std::int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

// The matrix forms are glibc's libmvec vector functions (≤ 4 ulp, glibc's contract for
// them; or libm when the build has no libmvec) and the scalar forms glibc's erf, tanh,
// exp (≤ 1–2 ulp): apart, at most 4 + 1 ulp, plus the final product's rounding for φ';
// tolerance 6 ulp. (Measured on [−30, 30]: erf 2, tanh 2, erf' 4.)
constexpr std::int64_t kMaxUlp = 6;

TEST(Activation, MatrixFormsWithinSixUlpOfScalarFormsIncludingTails) {
  // 400001 points on [−30, 30] (step 1.5e-4): erf and tanh reach ±1 at |x| ≈ 6 and 19,
  // the tails where a vector routine is most likely to lose accuracy. erf' is checked
  // on [−26, 26], where e^{−x²} ≥ 1e-294 is a normal double, and must vanish at ±40;
  // tanh' absolutely (below).
  const Eigen::Index n = 400001;
  const Eigen::MatrixXd h = Eigen::VectorXd::LinSpaced(n, -30.0, 30.0);
  for (Activation a : kAll) {
    Eigen::MatrixXd value(n, 1), slope(n, 1);
    apply_activation(a, h, value);
    apply_activation_derivative(a, h, slope);
    std::int64_t worst_value = 0, worst_slope = 0;
    double worst_tanh_slope = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) {
      worst_value = std::max(worst_value, ulp_distance(value(i), activation_value(a, h(i))));
      if (a == Activation::tanh) {
        worst_tanh_slope = std::max(worst_tanh_slope, std::abs(slope(i) - activation_derivative(a, h(i))));
      } else if (std::abs(h(i)) <= 26.0) {
        worst_slope = std::max(worst_slope, ulp_distance(slope(i), activation_derivative(a, h(i))));
      }
    }
    EXPECT_LE(worst_value, kMaxUlp) << activation_name(a);
    EXPECT_LE(worst_slope, kMaxUlp) << activation_name(a);
    // tanh' = 1 − t² (both forms) cancels where t → ±1, so it is bounded absolutely: a
    // 6-ulp difference in t (ulp ≤ 2^-53 on |t| < 1) moves 1 − t² by ≤ 2·6·2^-53.
    EXPECT_LE(worst_tanh_slope, 2.0 * kMaxUlp * std::ldexp(1.0, -53)) << activation_name(a);
  }
  Eigen::MatrixXd far(1, 2), slope(1, 2);
  far << -40.0, 40.0;
  apply_activation_derivative(Activation::erf, far, slope);
  EXPECT_EQ(slope, Eigen::MatrixXd::Zero(1, 2));
}

TEST(Activation, UlpDistanceCountsRepresentableDoubles) {
  // The must-fail side of the tolerance: one step is 1 ulp, and 7 steps exceed it.
  double x = 0.75;
  for (int k = 0; k < 7; ++k) x = std::nextafter(x, 2.0);
  EXPECT_EQ(ulp_distance(0.75, std::nextafter(0.75, 2.0)), 1);
  EXPECT_GT(ulp_distance(0.75, x), kMaxUlp);
  EXPECT_EQ(ulp_distance(0.0, -0.0), 0);
  EXPECT_EQ(ulp_distance(-std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::denorm_min()), 2);
}

TEST(Activation, MatrixEntryDependsOnItsInputOnlyAndMayAlias) {
  // 7×3 = 21 entries: full vector packets and a padded tail. Each entry equals the same
  // input evaluated alone (1×1), bit for bit, also in a column block with a stride.
  Eigen::MatrixXd h(7, 3);
  for (Eigen::Index k = 0; k < h.size(); ++k) h(k) = -2.6 + 0.27 * static_cast<double>(k);
  for (Activation a : kAll) {
    Eigen::MatrixXd value(7, 3), slope(7, 3), strided(9, 3);
    apply_activation(a, h, value);
    apply_activation_derivative(a, h, slope);
    apply_activation(a, h, strided.topRows(7));
    for (Eigen::Index k = 0; k < h.size(); ++k) {
      Eigen::MatrixXd one(1, 1), one_slope(1, 1);
      apply_activation(a, h.reshaped()(Eigen::seqN(k, 1)), one);
      apply_activation_derivative(a, h.reshaped()(Eigen::seqN(k, 1)), one_slope);
      EXPECT_EQ(value(k), one(0, 0)) << activation_name(a) << " entry " << k;
      EXPECT_EQ(slope(k), one_slope(0, 0)) << activation_name(a) << " entry " << k;
    }
    EXPECT_EQ(strided.topRows(7), value) << activation_name(a);
    Eigen::MatrixXd in_place = h;
    apply_activation(a, in_place, in_place);
    EXPECT_EQ(in_place, value) << activation_name(a);
    // delta ∘ φ'(h) equals the product with the matrix φ', entry by entry.
    Eigen::MatrixXd delta = Eigen::MatrixXd::Constant(7, 3, 0.3);
    multiply_by_activation_derivative(a, h, value, delta);
    EXPECT_EQ(delta, (0.3 * slope.array()).matrix()) << activation_name(a);
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
