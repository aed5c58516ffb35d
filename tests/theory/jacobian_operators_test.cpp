#include "theory/jacobian_operators.hpp"

#include <gtest/gtest.h>

#include "core/kernel_stack.hpp"
#include "core/rng.hpp"
#include "theory/kernel_fixtures.hpp"
#include "theory/nngp.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

// A positive definite 4×4 kernel (smallest eigenvalue 0.17), variances ≤ 1.
Eigen::MatrixXd test_kernel() { return fixtures::moderate_kernel(); }
using fixtures::random_symmetric;

// Central difference of 𝒢_l along a symmetric direction M.
Eigen::MatrixXd finite_difference(const core::ModelSpec& spec, const Eigen::MatrixXd& C,
                                  const Eigen::MatrixXd& M, double h, double tolerance) {
  return (nngp_layer_map(spec, 2, C + h * M, tolerance) - nngp_layer_map(spec, 2, C - h * M, tolerance)) / (2 * h);
}

TEST(JacobianOperators, ClosedFormJacobiansMatchCentralDifferences) {
  const Eigen::MatrixXd C = test_kernel();
  for (Activation activation : {Activation::linear, Activation::erf, Activation::relu}) {
    const core::ModelSpec spec = core::uniform_model(3, 2, 8, activation, 1.7, 0.1, 1.0);
    const JacobianOperator J = jacobian_operator(spec, 2, C, 1e-12);
    // Every basis direction E^(cd) (one symmetric entry) and two random ones.
    std::vector<Eigen::MatrixXd> directions;
    for (Eigen::Index k = 0; k < core::triangle_size(4); ++k) {
      Eigen::VectorXd e = Eigen::VectorXd::Unit(core::triangle_size(4), k);
      directions.push_back(core::from_upper_triangle(e, 4));
    }
    directions.push_back(random_symmetric(1, 4));
    directions.push_back(random_symmetric(2, 4));
    for (const Eigen::MatrixXd& M : directions) {
      // THEORY.md §3.4: J agrees with finite differences to 2e-10. Closed forms: step
      // h = 1e-5 gives truncation h²·𝒢'''/6 ≈ 1e-11 and rounding 1e-16/h = 1e-11.
      const double error = (apply_jacobian(J, M) - finite_difference(spec, C, M, 1e-5, 0)).cwiseAbs().maxCoeff();
      EXPECT_LT(error, 2e-10) << core::activation_name(activation) << "\n" << M;
    }
  }
}

TEST(JacobianOperators, TanhJacobianMatchesCentralDifferences) {
  // tanh maps use Gauss–Hermite to 1e-13; the node count can change between C ± hM,
  // so the difference quotient carries 2·1e-13/(2h) = 1e-9 at h = 1e-4, plus truncation
  // h²·𝒢'''/6 ≈ 1e-9. Tolerance 1e-8.
  const Eigen::MatrixXd C = test_kernel();
  const core::ModelSpec spec = core::uniform_model(3, 2, 8, Activation::tanh, 1.3, 0.0, 1.0);
  const JacobianOperator J = jacobian_operator(spec, 2, C, 1e-13);
  for (std::uint64_t i : {3, 4, 5}) {
    const Eigen::MatrixXd M = random_symmetric(i, 4);
    EXPECT_LT((apply_jacobian(J, M) - finite_difference(spec, C, M, 1e-4, 1e-13)).cwiseAbs().maxCoeff(), 1e-8);
  }
}

TEST(JacobianOperators, DroppingTheHalfOfPriceTheoremIsDetected) {
  // Twin that must fail: the "upper-triangle gradient" convention (THEORY.md §9.1
  // pitfall) doubles the diagonal terms; finite differences see it at far above 2e-10.
  const Eigen::MatrixXd C = test_kernel();
  const core::ModelSpec spec = core::uniform_model(3, 2, 8, Activation::erf, 1.7, 0.0, 1.0);
  JacobianOperator wrong = jacobian_operator(spec, 2, C, 1e-12);
  wrong.ddphi_phi *= 2.0;
  const Eigen::MatrixXd M = random_symmetric(1, 4);
  EXPECT_GT((apply_jacobian(wrong, M) - finite_difference(spec, C, M, 1e-5, 0)).cwiseAbs().maxCoeff(), 1e-3);
}

TEST(JacobianOperators, AdjointSatisfiesFrobeniusIdentity) {
  const Eigen::MatrixXd C = test_kernel();
  for (Activation activation : {Activation::linear, Activation::erf, Activation::relu, Activation::tanh}) {
    const core::ModelSpec spec = core::uniform_model(3, 2, 8, activation, 1.4, 0.0, 1.0);
    const JacobianOperator J = jacobian_operator(spec, 2, C, 1e-12);
    for (std::uint64_t i : {10, 11, 12}) {
      const Eigen::MatrixXd A = random_symmetric(i, 4);
      const Eigen::MatrixXd B = random_symmetric(i + 100, 4);
      // ⟨A, J[B]⟩ = ⟨Jᵀ[A], B⟩: the same sums in another order, rounding only (1e-13).
      EXPECT_NEAR(A.cwiseProduct(apply_jacobian(J, B)).sum(), apply_jacobian_adjoint(J, A).cwiseProduct(B).sum(), 1e-13)
          << core::activation_name(activation);
    }
  }
}

TEST(JacobianOperators, TriangleMatrixActsLikeTheOperator) {
  const Eigen::MatrixXd C = test_kernel();
  const core::ModelSpec spec = core::uniform_model(3, 2, 8, Activation::erf, 1.4, 0.0, 1.0);
  const JacobianOperator J = jacobian_operator(spec, 2, C, 1e-12);
  const Eigen::MatrixXd T = jacobian_triangle_matrix(J);
  const Eigen::MatrixXd M = random_symmetric(20, 4);
  // δC' = T δC in upper-triangle coordinates, each symmetric entry once.
  EXPECT_TRUE(core::upper_triangle(apply_jacobian(J, M)).isApprox(T * core::upper_triangle(M), 1e-14));
  // T X Tᵀ by the sparse rows equals the dense product.
  const Eigen::MatrixXd X = random_symmetric(21, core::triangle_size(4));
  EXPECT_TRUE(propagate_triangle_covariance(J, X).isApprox(T * X * T.transpose(), 1e-14));
  // The diagonal entry is χ_∥ = g(⟨φ'²⟩ + ⟨φφ''⟩) (THEORY.md §6.1).
  const Eigen::Index aa = core::triangle_index(1, 1, 4);
  EXPECT_DOUBLE_EQ(T(aa, aa), 1.4 * (J.dphi_dphi(1, 1) + J.ddphi_phi(1, 1)));
}

TEST(JacobianOperators, PerLayerOperatorsUseThePreviousKernel) {
  const core::ModelSpec spec = core::uniform_model(3, 3, 8, Activation::erf, 1.4, 0.0, 1.0);
  core::Engine engine = core::make_stream(3, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd X = core::standard_normal_matrix(engine, 3, 3);
  const core::KernelStack C = nngp_kernels(spec, X, 1e-12);
  const std::vector<JacobianOperator> J = jacobian_operators(spec, C, 1e-12);
  ASSERT_EQ(J.size(), 4u);
  for (Eigen::Index l = 2; l <= 4; ++l) {
    const JacobianOperator expected = jacobian_operator(spec, l, C.layer(l - 1), 1e-12);
    EXPECT_EQ(J[static_cast<std::size_t>(l - 1)].dphi_dphi, expected.dphi_dphi);
    EXPECT_EQ(J[static_cast<std::size_t>(l - 1)].ddphi_phi, expected.ddphi_phi);
  }
}

}  // namespace
}  // namespace kernelmc::theory
