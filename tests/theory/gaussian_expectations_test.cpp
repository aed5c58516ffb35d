#include "theory/gaussian_expectations.hpp"

#include <gtest/gtest.h>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cmath>
#include <limits>
#include <numbers>

#include "theory/gauss_hermite.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

struct Pair {
  double Caa, Cbb, Cab;
};
// Variances ≤ 1 and correlations from −0.9 to 0.95: 2-D Gauss–Hermite with 120 nodes has
// converged far below 1e-10 there for erf and tanh (gauss_hermite_four_point_error of
// the 4th power, a harder integrand, is 1e-10 at n = 80 and variance 1).
const Pair kPairs[] = {{1.0, 1.0, 0.3}, {0.8, 0.4, -0.5}, {0.3, 0.9, 0.49}, {0.5, 0.5, -0.45}, {1.0, 0.2, 0.05}};

TEST(GaussianExpectations, ErfClosedFormsMatchGaussHermite) {
  const GaussHermiteRule rule = gauss_hermite_rule(120);
  for (const Pair& p : kPairs) {
    // closed form vs 2-D Gauss–Hermite, n = 120 (THEORY.md §2 and V1: EXACT to 1e-8).
    EXPECT_NEAR(pair_expectation(Activation::erf, PairMoment::phi_phi, p.Caa, p.Cbb, p.Cab, false, 0),
                derivative_pair_expectation_quadrature(Activation::erf, 0, 0, p.Caa, p.Cbb, p.Cab, rule), 1e-8);
    EXPECT_NEAR(pair_expectation(Activation::erf, PairMoment::dphi_dphi, p.Caa, p.Cbb, p.Cab, false, 0),
                derivative_pair_expectation_quadrature(Activation::erf, 1, 1, p.Caa, p.Cbb, p.Cab, rule), 1e-8);
    EXPECT_NEAR(pair_expectation(Activation::erf, PairMoment::ddphi_phi, p.Caa, p.Cbb, p.Cab, false, 0),
                derivative_pair_expectation_quadrature(Activation::erf, 2, 0, p.Caa, p.Cbb, p.Cab, rule), 1e-8);
  }
}

TEST(GaussianExpectations, ErfDiagonalFormsMatchGaussHermite) {
  const GaussHermiteRule rule = gauss_hermite_rule(120);
  for (double q : {0.1, 0.5, 1.0}) {
    // Diagonal special forms of THEORY.md §2 vs the 2-D rule at C_ab = C_aa (h_b = h_a);
    // same 1e-8 as above.
    EXPECT_NEAR(pair_expectation(Activation::erf, PairMoment::phi_phi, q, q, q, true, 0),
                derivative_pair_expectation_quadrature(Activation::erf, 0, 0, q, q, q, rule), 1e-8);
    EXPECT_NEAR(pair_expectation(Activation::erf, PairMoment::dphi_dphi, q, q, q, true, 0),
                derivative_pair_expectation_quadrature(Activation::erf, 1, 1, q, q, q, rule), 1e-8);
    EXPECT_NEAR(pair_expectation(Activation::erf, PairMoment::ddphi_phi, q, q, q, true, 0),
                derivative_pair_expectation_quadrature(Activation::erf, 2, 0, q, q, q, rule), 1e-8);
    // The general formula has the same limit (rounding only: 1e-12).
    EXPECT_NEAR(pair_expectation(Activation::erf, PairMoment::ddphi_phi, q, q, q, true, 0),
                pair_expectation(Activation::erf, PairMoment::ddphi_phi, q, q, q, false, 0), 1e-12);
  }
}

TEST(GaussianExpectations, ErfClosedFormDetectsWrongScaling) {
  // Twin that must fail: erf(√π x/2) (the rescaled activation of THEORY.md §6.2) has a
  // different pair map, and the same 1e-8 comparison sees it.
  const GaussHermiteRule rule = gauss_hermite_rule(120);
  const Pair p = kPairs[0];
  const double rescaled = gaussian_pair_expectation(
      [](double a, double b) {
        const double c = 0.5 * std::sqrt(std::numbers::pi);
        return std::erf(c * a) * std::erf(c * b);
      },
      p.Caa, p.Cbb, p.Cab, rule);
  EXPECT_GT(std::abs(pair_expectation(Activation::erf, PairMoment::phi_phi, p.Caa, p.Cbb, p.Cab, false, 0) - rescaled), 1e-3);
}

TEST(GaussianExpectations, LinearClosedFormsMatchGaussHermite) {
  const GaussHermiteRule rule = gauss_hermite_rule(4);  // polynomials of degree ≤ 2: exact
  for (const Pair& p : kPairs) {
    EXPECT_NEAR(pair_expectation(Activation::linear, PairMoment::phi_phi, p.Caa, p.Cbb, p.Cab, false, 0),
                derivative_pair_expectation_quadrature(Activation::linear, 0, 0, p.Caa, p.Cbb, p.Cab, rule), 1e-14);
    EXPECT_EQ(pair_expectation(Activation::linear, PairMoment::dphi_dphi, p.Caa, p.Cbb, p.Cab, false, 0), 1.0);
    EXPECT_EQ(pair_expectation(Activation::linear, PairMoment::ddphi_phi, p.Caa, p.Cbb, p.Cab, false, 0), 0.0);
  }
}

// Independent route for ReLU: integrate h_b out in closed form given h_a (a Gaussian
// with mean m = (C_ab/C_aa) h_a and variance s² = C_bb − C_ab²/C_aa), then integrate the
// remaining smooth 1-D function over h_a > 0 with adaptive Gauss–Kronrod.
double relu_by_reduction(PairMoment moment, double Caa, double Cbb, double Cab) {
  const boost::math::normal standard;
  const double ra = std::sqrt(Caa);
  const double s = std::sqrt(Cbb - Cab * Cab / Caa);
  auto integrand = [&](double z) {
    const double m = Cab / ra * z;
    const double density = std::exp(-0.5 * z * z) * std::numbers::inv_sqrtpi / std::numbers::sqrt2;
    if (moment == PairMoment::phi_phi) {
      // E relu(m + sZ) = m Φ(m/s) + s φ(m/s).
      const double inner = m * boost::math::cdf(standard, m / s) + s * boost::math::pdf(standard, m / s);
      return ra * z * inner * density;
    }
    return boost::math::cdf(standard, m / s) * density;  // P(h_b > 0 | h_a)
  };
  return boost::math::quadrature::gauss_kronrod<double, 61>::integrate(
      integrand, 0.0, std::numeric_limits<double>::infinity(), 15, 1e-13);
}

TEST(GaussianExpectations, ReluClosedFormsMatchOneDimensionalReduction) {
  for (const Pair& p : kPairs) {
    // Cho & Saul closed form vs the reduction above (adaptive Gauss–Kronrod to 1e-13
    // relative): tolerance 1e-10.
    EXPECT_NEAR(pair_expectation(Activation::relu, PairMoment::phi_phi, p.Caa, p.Cbb, p.Cab, false, 0),
                relu_by_reduction(PairMoment::phi_phi, p.Caa, p.Cbb, p.Cab), 1e-10);
    EXPECT_NEAR(pair_expectation(Activation::relu, PairMoment::dphi_dphi, p.Caa, p.Cbb, p.Cab, false, 0),
                relu_by_reduction(PairMoment::dphi_dphi, p.Caa, p.Cbb, p.Cab), 1e-10);
  }
  EXPECT_DOUBLE_EQ(pair_expectation(Activation::relu, PairMoment::phi_phi, 1.4, 1.4, 1.4, true, 0), 0.7);
  EXPECT_DOUBLE_EQ(pair_expectation(Activation::relu, PairMoment::dphi_dphi, 1.4, 1.4, 1.4, true, 0), 0.5);
}

TEST(GaussianExpectations, ReluGaussHermiteConvergesTooSlowlyToBeUsed) {
  // Why ReLU never goes through quadrature: its kink leaves an error far above the 1e-8
  // target even at 120 nodes (measured ≈ 1e-5 here).
  const Pair p = kPairs[1];
  const double error = std::abs(
      derivative_pair_expectation_quadrature(Activation::relu, 0, 0, p.Caa, p.Cbb, p.Cab, gauss_hermite_rule(120)) -
      pair_expectation(Activation::relu, PairMoment::phi_phi, p.Caa, p.Cbb, p.Cab, false, 0));
  EXPECT_GT(error, 1e-8);
}

TEST(GaussianExpectations, TanhMatrixMeetsRequestedTolerance) {
  Eigen::MatrixXd C(3, 3);
  C << 2.0, 0.9, -0.4,
       0.9, 1.0, 0.3,
      -0.4, 0.3, 0.5;
  const double tolerance = 1e-10;
  const GaussHermiteRule reference = gauss_hermite_rule(256);
  for (PairMoment moment : {PairMoment::phi_phi, PairMoment::dphi_dphi, PairMoment::ddphi_phi}) {
    const Eigen::MatrixXd M = pair_expectation_matrix(Activation::tanh, moment, C, tolerance);
    const int i = moment == PairMoment::phi_phi ? 0 : moment == PairMoment::dphi_dphi ? 1 : 2;
    const int j = moment == PairMoment::dphi_dphi ? 1 : 0;
    for (Eigen::Index a = 0; a < 3; ++a) {
      for (Eigen::Index b = 0; b < 3; ++b) {
        // The node count was chosen for `tolerance` (successive rules agree on the largest
        // variance); the 256-node rule is the reference.
        EXPECT_NEAR(M(a, b),
                    derivative_pair_expectation_quadrature(Activation::tanh, i, j, C(a, a), C(b, b), C(a, b), reference),
                    tolerance)
            << a << "," << b;
      }
    }
  }
}

TEST(GaussianExpectations, MatrixFormsAgreeWithEntrywiseForms) {
  Eigen::MatrixXd C(3, 3);
  C << 1.2, 0.4, -0.3,
       0.4, 0.7, 0.2,
      -0.3, 0.2, 0.9;
  for (Activation activation : {Activation::linear, Activation::erf, Activation::relu}) {
    const Eigen::MatrixXd pp = expected_phi_phi(activation, C, 1e-10);
    const Eigen::MatrixXd dd = expected_dphi_dphi(activation, C, 1e-10);
    const Eigen::MatrixXd ddp = expected_ddphi_phi(activation, C, 1e-10);
    for (Eigen::Index a = 0; a < 3; ++a) {
      for (Eigen::Index b = 0; b < 3; ++b) {
        const bool diag = a == b;
        EXPECT_DOUBLE_EQ(pp(a, b), pair_expectation(activation, PairMoment::phi_phi, C(a, a), C(b, b), C(a, b), diag, 0));
        EXPECT_DOUBLE_EQ(dd(a, b), pair_expectation(activation, PairMoment::dphi_dphi, C(a, a), C(b, b), C(a, b), diag, 0));
        EXPECT_DOUBLE_EQ(ddp(a, b), pair_expectation(activation, PairMoment::ddphi_phi, C(a, a), C(b, b), C(a, b), diag, 0));
      }
    }
    EXPECT_TRUE(pp.isApprox(pp.transpose(), 0.0));
  }
  // ⟨φ''_aφ_b⟩ is not symmetric when C_aa ≠ C_bb.
  const Eigen::MatrixXd ddp = expected_ddphi_phi(Activation::erf, C, 1e-10);
  EXPECT_GT(std::abs(ddp(0, 1) - ddp(1, 0)), 1e-3);
}

// Central second differences of the pair map ⟨φ_aφ_b⟩ in (C_aa, C_bb, C_ab).
Eigen::Matrix3d finite_difference_hessian(const std::function<double(const Eigen::Vector3d&)>& f,
                                          const Eigen::Vector3d& x, double h) {
  Eigen::Matrix3d H;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      const Eigen::Vector3d ei = h * Eigen::Vector3d::Unit(i), ej = h * Eigen::Vector3d::Unit(j);
      H(i, j) = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h * h);
    }
  }
  return H;
}

TEST(GaussianExpectations, PairHessianMatchesFiniteDifferences) {
  const GaussHermiteRule fixed = gauss_hermite_rule(160);
  for (Activation activation : {Activation::erf, Activation::relu, Activation::tanh}) {
    // tanh: a fixed rule keeps the map smooth in C, so differences see its derivatives.
    auto f = [&](const Eigen::Vector3d& x) {
      if (activation == Activation::tanh)
        return derivative_pair_expectation_quadrature(activation, 0, 0, x(0), x(1), x(2), fixed);
      return pair_expectation(activation, PairMoment::phi_phi, x(0), x(1), x(2), false, 0);
    };
    for (const Pair& p : kPairs) {
      const Eigen::Vector3d x(p.Caa, p.Cbb, p.Cab);
      const Eigen::Matrix3d H = pair_expectation_hessian(activation, p.Caa, p.Cbb, p.Cab, 1e-12);
      // Richardson extrapolation of central differences at h = 1e-3 and 5e-4 removes the
      // h² term. The remaining O(h⁴) truncation is largest for the ReLU map at ρ = 0.94
      // (its derivatives grow like powers of 1/(C_aaC_bb − C_ab²)): 1.4e-6 with steps
      // (2e-3, 1e-3), so ≈ 1e-7 here; rounding 1e-16/h² ≈ 4e-10. Tolerance 1e-6.
      const Eigen::Matrix3d richardson =
          (4.0 * finite_difference_hessian(f, x, 5e-4) - finite_difference_hessian(f, x, 1e-3)) / 3.0;
      EXPECT_LT((H - richardson).cwiseAbs().maxCoeff(), 1e-6)
          << core::activation_name(activation) << " at " << x.transpose();
    }
  }
}

TEST(GaussianExpectations, ErfHessianClosedFormMatchesPriceQuadrature) {
  // Independent route: Price's theorem with φ''' and φ'''' of erf by 2-D Gauss–Hermite
  // (n = 120, converged below 1e-10 at these variances); tolerance 1e-8.
  const GaussHermiteRule rule = gauss_hermite_rule(120);
  for (const Pair& p : kPairs) {
    auto E = [&](int i, int j) {
      return derivative_pair_expectation_quadrature(Activation::erf, i, j, p.Caa, p.Cbb, p.Cab, rule);
    };
    Eigen::Matrix3d price;
    price << 0.25 * E(4, 0), 0.25 * E(2, 2), 0.5 * E(3, 1),
             0.25 * E(2, 2), 0.25 * E(0, 4), 0.5 * E(1, 3),
             0.5 * E(3, 1), 0.5 * E(1, 3), E(2, 2);
    EXPECT_LT((pair_expectation_hessian(Activation::erf, p.Caa, p.Cbb, p.Cab, 0) - price).cwiseAbs().maxCoeff(), 1e-8);
  }
}

TEST(GaussianExpectations, DiagonalSecondDerivativeMatchesFiniteDifferences) {
  for (Activation activation : {Activation::linear, Activation::relu, Activation::erf, Activation::tanh}) {
    for (double q : {0.2, 0.7, 1.5}) {
      auto f = [&](double x) {
        return activation == Activation::tanh
                   ? derivative_pair_expectation_quadrature(activation, 0, 0, x, x, x, gauss_hermite_rule(200))
                   : pair_expectation(activation, PairMoment::phi_phi, x, x, x, true, 0);
      };
      const double h = 1e-3;
      const double fd = (f(q + h) - 2 * f(q) + f(q - h)) / (h * h);
      // Truncation h²·f''''/12 ≲ 1e-6, rounding 1e-16/h² = 1e-10: tolerance 1e-5.
      EXPECT_NEAR(diagonal_expectation_second_derivative(activation, q, 1e-12), fd, 1e-5)
          << core::activation_name(activation) << " q = " << q;
    }
  }
}

TEST(GaussianExpectations, HigherDerivativesMatchFiniteDifferences) {
  for (Activation activation : {Activation::erf, Activation::tanh}) {
    for (double x : {-1.3, -0.2, 0.4, 1.1}) {
      for (int order = 1; order <= 4; ++order) {
        const double h = 1e-5;
        const double fd = (activation_derivative_of_order(activation, order - 1, x + h) -
                           activation_derivative_of_order(activation, order - 1, x - h)) / (2 * h);
        // Central difference: truncation h²·φ^{(order+2)}/6 ≈ 1e-9, rounding 1e-16/h = 1e-11.
        EXPECT_NEAR(activation_derivative_of_order(activation, order, x), fd, 1e-8)
            << core::activation_name(activation) << " order " << order << " at " << x;
      }
    }
  }
}

}  // namespace
}  // namespace kernelmc::theory
