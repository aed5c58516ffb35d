#include "theory/jacobian_operators.hpp"

#include <array>
#include <cassert>

#include "theory/gaussian_expectations.hpp"

namespace kernelmc::theory {

JacobianOperator jacobian_operator(const core::ModelSpec& spec, Eigen::Index l,
                                   const Eigen::Ref<const Eigen::MatrixXd>& C_prev,
                                   double tolerance) {
  assert(l >= 2 && l <= spec.depth() + 1);
  return JacobianOperator{spec.g(l), expected_dphi_dphi(spec.activation, C_prev, tolerance),
                          expected_ddphi_phi(spec.activation, C_prev, tolerance)};
}

std::vector<JacobianOperator> jacobian_operators(const core::ModelSpec& spec,
                                                 const core::KernelStack& nngp, double tolerance) {
  std::vector<JacobianOperator> out(static_cast<std::size_t>(nngp.top_layer()));
  for (Eigen::Index l = 2; l <= nngp.top_layer(); ++l)
    out[static_cast<std::size_t>(l - 1)] = jacobian_operator(spec, l, nngp.layer(l - 1), tolerance);
  return out;
}

Eigen::MatrixXd apply_jacobian(const JacobianOperator& J, const Eigen::Ref<const Eigen::MatrixXd>& M) {
  // THEORY.md §3.4: J[M]_ab = g[⟨φ'_aφ'_b⟩ M_ab + ½(⟨φ''_aφ_b⟩ M_aa + ⟨φ_aφ''_b⟩ M_bb)].
  const Eigen::VectorXd m = M.diagonal();
  const Eigen::MatrixXd E = m.asDiagonal() * J.ddphi_phi;  // E_ab = M_aa ⟨φ''_aφ_b⟩
  return J.g * (J.dphi_dphi.cwiseProduct(M) + 0.5 * (E + E.transpose()));
}

Eigen::MatrixXd apply_jacobian_adjoint(const JacobianOperator& J,
                                       const Eigen::Ref<const Eigen::MatrixXd>& M) {
  // THEORY.md §3.4: Jᵀ[M] = g[M ∘ ⟨φ'φ'ᵀ⟩ + diag_c(Σ_b M_cb ⟨φ''_cφ_b⟩)].
  Eigen::MatrixXd out = J.dphi_dphi.cwiseProduct(M);
  out.diagonal() += M.cwiseProduct(J.ddphi_phi).rowwise().sum();
  return J.g * out;
}

namespace {
// The three non-zeros of row (a, b) of the triangle matrix: columns (a,b), (a,a), (b,b)
// with their coefficients; for a = b one non-zero, g(⟨φ'²⟩ + ⟨φφ''⟩) (= χ_∥ of §6.1).
struct TriangleRow {
  std::array<Eigen::Index, 3> column;
  std::array<double, 3> value;
  int count;
};

TriangleRow triangle_row(const JacobianOperator& J, Eigen::Index a, Eigen::Index b) {
  const Eigen::Index P = J.points();
  if (a == b)
    return {{core::triangle_index(a, a, P), 0, 0},
            {J.g * (J.dphi_dphi(a, a) + J.ddphi_phi(a, a)), 0.0, 0.0}, 1};
  return {{core::triangle_index(a, b, P), core::triangle_index(a, a, P), core::triangle_index(b, b, P)},
          {J.g * J.dphi_dphi(a, b), 0.5 * J.g * J.ddphi_phi(a, b), 0.5 * J.g * J.ddphi_phi(b, a)},
          3};
}

std::vector<TriangleRow> triangle_rows(const JacobianOperator& J) {
  const Eigen::Index P = J.points();
  std::vector<TriangleRow> rows;
  rows.reserve(static_cast<std::size_t>(core::triangle_size(P)));
  for (Eigen::Index a = 0; a < P; ++a)
    for (Eigen::Index b = a; b < P; ++b) rows.push_back(triangle_row(J, a, b));
  return rows;
}

// T X for the sparse rows of T.
Eigen::MatrixXd left_multiply(const std::vector<TriangleRow>& rows,
                              const Eigen::Ref<const Eigen::MatrixXd>& X) {
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(rows.size()), X.cols());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    for (int i = 0; i < rows[k].count; ++i)
      out.row(static_cast<Eigen::Index>(k)) += rows[k].value[static_cast<std::size_t>(i)] *
                                              X.row(rows[k].column[static_cast<std::size_t>(i)]);
  }
  return out;
}
}  // namespace

Eigen::MatrixXd jacobian_triangle_matrix(const JacobianOperator& J) {
  const Eigen::Index K = core::triangle_size(J.points());
  return left_multiply(triangle_rows(J), Eigen::MatrixXd::Identity(K, K));
}

Eigen::MatrixXd propagate_triangle_covariance(const JacobianOperator& J,
                                              const Eigen::Ref<const Eigen::MatrixXd>& X) {
  const std::vector<TriangleRow> rows = triangle_rows(J);
  const Eigen::MatrixXd TX = left_multiply(rows, X);
  // (T X) Tᵀ = (T (T X)ᵀ)ᵀ.
  return left_multiply(rows, TX.transpose()).transpose();
}

}  // namespace kernelmc::theory
