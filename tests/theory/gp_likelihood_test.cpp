#include "theory/gp_likelihood.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace kernelmc::theory {
namespace {

Eigen::MatrixXd draws(std::uint64_t index, Eigen::Index rows, Eigen::Index cols) {
  core::Engine engine = core::make_stream(31, core::StreamPurpose::test, 0, index);
  return core::standard_normal_matrix(engine, rows, cols);
}

double max_abs(const Eigen::MatrixXd& M) { return M.cwiseAbs().maxCoeff(); }

TEST(GpLikelihood, GradientMatchesFiniteDifferencesWithTestPoints) {
  // ∂ℓ/∂C_ab (unsymmetrised: half the derivative along a symmetric off-diagonal pair) by
  // central differences of ℓ, D = 2 outputs, P = 3 training points of an augmented 5×5
  // kernel: the test rows and columns carry no likelihood, so their gradient is exactly 0.
  // Step 1e-5: truncation ≈ 1e-10 times the third derivative, rounding ≈ 1e-11; tolerance
  // 1e-8 relative.
  const Eigen::MatrixXd F = draws(11, 5, 7);
  const Eigen::MatrixXd C = F * F.transpose() / 7.0;
  const Eigen::MatrixXd Y = draws(12, 3, 2);
  const double kappa = 0.3;
  const Eigen::MatrixXd G = likelihood_gradient(C, Y, kappa);
  const double h = 1e-5;
  for (Eigen::Index a = 0; a < 5; ++a)
    for (Eigen::Index b = a; b < 5; ++b) {
      Eigen::MatrixXd E = Eigen::MatrixXd::Zero(5, 5);
      E(a, b) = E(b, a) = 1.0;
      const double d = (log_likelihood(C + h * E, Y, kappa) - log_likelihood(C - h * E, Y, kappa)) / (2 * h);
      EXPECT_NEAR(a == b ? G(a, a) : 2.0 * G(a, b), d, 1e-8 * max_abs(G)) << a << ", " << b;
      if (b >= 3) {
        EXPECT_EQ(G(a, b), 0.0);
      }
    }
  // Must-fail twin: without the factor 2 off the diagonal the (0, 1) entry misses.
  Eigen::MatrixXd E = Eigen::MatrixXd::Zero(5, 5);
  E(0, 1) = E(1, 0) = 1.0;
  const double d01 = (log_likelihood(C + h * E, Y, kappa) - log_likelihood(C - h * E, Y, kappa)) / (2 * h);
  EXPECT_GT(std::abs(G(0, 1) - d01), 1e-3 * std::abs(d01));
}

TEST(GpLikelihood, TwoPointClosedForm) {
  // P = 2, D = 1, by hand: M = C + κI = [[m00, m01], [m01, m11]], det = m00 m11 − m01²,
  // A = [[m11, −m01], [−m01, m00]]/det, ℓ = −½ yᵀAy − ½ log det, G = ½(A y yᵀA − A).
  // Rounding only: tolerance 1e-13 relative.
  Eigen::MatrixXd C(2, 2);
  C << 1.3, 0.4, 0.4, 0.7;
  Eigen::MatrixXd y(2, 1);
  y << 0.9, -1.7;
  const double kappa = 0.25;
  const double m00 = 1.55, m01 = 0.4, m11 = 0.95;
  const double det = m00 * m11 - m01 * m01;
  Eigen::MatrixXd A(2, 2);
  A << m11, -m01, -m01, m00;
  A /= det;
  const Eigen::VectorXd a = A * y;
  const double expected_l = -0.5 * y.col(0).dot(a) - 0.5 * std::log(det);
  const Eigen::MatrixXd expected_G = 0.5 * (a * a.transpose() - A);
  EXPECT_NEAR(log_likelihood(C, y, kappa), expected_l, 1e-13 * std::abs(expected_l));
  EXPECT_LT(max_abs(likelihood_gradient(C, y, kappa) - expected_G), 1e-13 * max_abs(expected_G));
  EXPECT_LT(max_abs(regularised_inverse(regularised_cholesky("test", C, 2, kappa)) - A), 1e-13 * max_abs(A));
  // Must-fail twin: the log det with the D/2 factor doubled misses by ½ log det.
  EXPECT_GT(std::abs(log_likelihood(C, y, kappa) - (expected_l - 0.5 * std::log(det))), 1e-3);
}

TEST(GpLikelihood, JitterOnlyWhenKappaIsTiny) {
  // THEORY.md §1.5: the ridge is κ (bit for bit) unless κ < 1e-10·tr(C)/P; then a singular
  // C (rank 1 here) still factorises, with the jitter as the ridge.
  Eigen::MatrixXd C = Eigen::MatrixXd::Ones(3, 3) * 2.0;
  EXPECT_EQ(regularisation(C, 0.5), 0.5);
  EXPECT_EQ(regularisation(C, 0.0), kCholeskyJitter * 2.0);
  const auto llt = try_regularised_cholesky(C, 3, 0.0);
  ASSERT_TRUE(llt.has_value());
  const Eigen::MatrixXd ridged = C + kCholeskyJitter * 2.0 * Eigen::MatrixXd::Identity(3, 3);
  EXPECT_LT(max_abs(llt->reconstructedMatrix() - ridged), 1e-14);
  // Only the leading P×P block counts: a 2-point training block of a 3×3 kernel.
  const Eigen::MatrixXd y = Eigen::MatrixXd::Ones(2, 1);
  EXPECT_TRUE(std::isfinite(log_likelihood(C, y, 0.0)));
}

TEST(GpLikelihood, IndefiniteKernelIsANamedNumericalError) {
  Eigen::MatrixXd C(2, 2);
  C << 1.0, 2.0, 2.0, 1.0;  // eigenvalues 3 and −1
  EXPECT_FALSE(try_regularised_cholesky(C, 2, 0.5).has_value());
  try {
    regularised_cholesky("caller", C, 2, 0.5);
    FAIL() << "no error";
  } catch (const NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("caller: C + kappa I on the 2 training points"), std::string::npos);
  }
}

}  // namespace
}  // namespace kernelmc::theory
