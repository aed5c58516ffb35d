#include "theory/gauss_hermite.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"

namespace kernelmc::theory {
namespace {

// E Z^(2k) = (2k − 1)!!; odd moments vanish.
double normal_moment(int power) {
  if (power % 2 == 1) return 0.0;
  double m = 1.0;
  for (int j = power - 1; j > 0; j -= 2) m *= j;
  return m;
}

TEST(GaussHermite, RuleIsExactForPolynomialsUpToDegree2nMinus1) {
  const Eigen::Index n = 10;
  const GaussHermiteRule rule = gauss_hermite_rule(n);
  EXPECT_NEAR(rule.weights.sum(), 1.0, 1e-14);
  for (int power = 0; power <= 2 * n - 1; ++power) {
    double sum = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) sum += rule.weights(i) * std::pow(rule.nodes(i), power);
    // Rounding relative to the size of the terms, E|Z|^power ≤ √(E Z^(2·power)): 1e-13.
    EXPECT_NEAR(sum, normal_moment(power), 1e-13 * std::sqrt(normal_moment(2 * power))) << power;
  }
  // Degree 2n is not integrated exactly: the rule has power, the check can fail.
  double sum = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) sum += rule.weights(i) * std::pow(rule.nodes(i), 2 * n);
  EXPECT_GT(std::abs(sum - normal_moment(2 * static_cast<int>(n))), 1.0);
}

TEST(GaussHermite, PairExpectationOfBivariatePolynomialIsExact) {
  // E[h_a² h_b²] = C_aa C_bb + 2 C_ab² (Isserlis); E[h_a³ h_b] = 3 C_aa C_ab.
  const double Caa = 1.7, Cbb = 0.6, Cab = -0.55;
  const GaussHermiteRule rule = gauss_hermite_rule(6);
  EXPECT_NEAR(gaussian_pair_expectation([](double a, double b) { return a * a * b * b; }, Caa, Cbb, Cab, rule),
              Caa * Cbb + 2 * Cab * Cab, 1e-13);
  EXPECT_NEAR(gaussian_pair_expectation([](double a, double b) { return a * a * a * b; }, Caa, Cbb, Cab, rule),
              3 * Caa * Cab, 1e-13);
}

TEST(GaussHermite, PairExpectationHandlesSingularCovariance) {
  // h_b = −h_a exactly (C_ab = −C_aa = −C_bb): E[h_a h_b] = −C_aa, E[h_b²] = C_aa.
  const GaussHermiteRule rule = gauss_hermite_rule(4);
  EXPECT_NEAR(gaussian_pair_expectation([](double a, double b) { return a * b; }, 2.0, 2.0, -2.0, rule), -2.0, 1e-13);
  EXPECT_NEAR(gaussian_pair_expectation([](double, double b) { return b * b; }, 2.0, 2.0, -2.0, rule), 2.0, 1e-13);
  // Zero variance of h_a: h_a ≡ 0.
  EXPECT_NEAR(gaussian_pair_expectation([](double a, double b) { return a * a + b * b; }, 0.0, 1.5, 0.0, rule), 1.5, 1e-13);
}

TEST(GaussHermite, TensorExpectationReproducesIsserlisInFourDimensions) {
  Eigen::MatrixXd S(4, 4);
  S << 2.0, 0.5, 0.3, -0.2,
       0.5, 1.0, 0.1, 0.4,
       0.3, 0.1, 1.5, 0.6,
      -0.2, 0.4, 0.6, 1.2;
  const double expected = S(0, 1) * S(2, 3) + S(0, 2) * S(1, 3) + S(0, 3) * S(1, 2);
  // Degree 4 in every coordinate: exact with 3 nodes per dimension.
  const double value = gaussian_expectation([](const Eigen::VectorXd& h) { return h.prod(); }, S, gauss_hermite_rule(3));
  EXPECT_NEAR(value, expected, 1e-13);
}

TEST(GaussHermite, NodeSearchStopsWhenSuccessiveRulesAgree) {
  // E cos(sZ) = exp(−s²/2): entire, so successive rules converge geometrically.
  const double s = 2.0;
  const std::vector<std::function<double(double)>> f = {[&](double z) { return std::cos(s * z); }};
  const Eigen::Index n = gauss_hermite_nodes_for(f, 1e-12);
  const GaussHermiteRule rule = gauss_hermite_rule(n);
  double sum = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) sum += rule.weights(i) * std::cos(s * rule.nodes(i));
  // The search accepts a rule when it agrees with the previous one to 1e-12; the error of
  // the accepted (larger) rule is then below that.
  EXPECT_NEAR(sum, std::exp(-0.5 * s * s), 1e-12);
  EXPECT_GT(n, 8);
}

TEST(GaussHermite, NodeSearchThrowsWhenRulesNeverAgree) {
  // A kinked integrand converges only algebraically: successive rules never agree to
  // 1e-15 within 1024 nodes.
  const std::vector<std::function<double(double)>> f = {[](double z) { return std::abs(z); }};
  EXPECT_THROW(gauss_hermite_nodes_for(f, 1e-15), NumericalError);
}

}  // namespace
}  // namespace kernelmc::theory
