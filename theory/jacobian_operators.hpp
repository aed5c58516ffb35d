#pragma once
// The Jacobian J^(l) = ∂C_GP^(l)/∂C_GP^(l−1) of the NNGP layer map and its adjoint
// (THEORY.md §3.4, Price's theorem, unsymmetrised convention of §9.1):
//   J[M]_ab = g [⟨φ'_aφ'_b⟩ M_ab + ½(⟨φ''_aφ_b⟩ M_aa + ⟨φ_aφ''_b⟩ M_bb)],
//   Jᵀ[M]   = g [M ∘ ⟨φ'φ'ᵀ⟩ + diag_c(Σ_b M_cb ⟨φ''_cφ_b⟩)],
// expectations at C_GP^(l−1). Only 2-point functions enter, so closed forms serve erf,
// ReLU and linear. Both act on symmetric P×P matrices.
#include <Eigen/Core>

#include <vector>

#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"

namespace kernelmc::theory {

// J^(l) at one kernel: everything needed to apply it, formed once.
struct JacobianOperator {
  double g = 0.0;             // g_l
  Eigen::MatrixXd dphi_dphi;  // ⟨φ'_a φ'_b⟩ at C^(l−1)
  Eigen::MatrixXd ddphi_phi;  // ⟨φ''_a φ_b⟩ at C^(l−1) (entry (a, b))

  Eigen::Index points() const { return dphi_dphi.rows(); }
};

// J^(l) at C_prev = C^(l−1) (l = 2..L+1); `tolerance` for tanh quadrature.
JacobianOperator jacobian_operator(const core::ModelSpec& spec, Eigen::Index l,
                                   const Eigen::Ref<const Eigen::MatrixXd>& C_prev,
                                   double tolerance);

// J^(l) at C_GP^(l−1) for every l = 2..L+1, returned [l−1] (entry 0, layer 1, is empty).
std::vector<JacobianOperator> jacobian_operators(const core::ModelSpec& spec,
                                                 const core::KernelStack& nngp, double tolerance);

// J[M] for a symmetric P×P M: the first-order change of 𝒢(C) under C → C + M.
Eigen::MatrixXd apply_jacobian(const JacobianOperator& J, const Eigen::Ref<const Eigen::MatrixXd>& M);

// Jᵀ[M] for a symmetric M: ⟨A, J[B]⟩ = ⟨Jᵀ[A], B⟩ (Frobenius) for symmetric A, B.
Eigen::MatrixXd apply_jacobian_adjoint(const JacobianOperator& J,
                                       const Eigen::Ref<const Eigen::MatrixXd>& M);

// J as a K×K matrix over the upper-triangle entries (K = P(P+1)/2, order of
// core::upper_triangle): δC'_k = Σ_k' T_kk' δC_k', each k' one symmetric entry. Row
// (a, b) has at most three non-zeros: columns (a, b), (a, a), (b, b).
Eigen::MatrixXd jacobian_triangle_matrix(const JacobianOperator& J);

// T X Tᵀ for a K×K matrix X (the covariance of the upper-triangle entries pushed
// through J, THEORY.md §3.4), in O(K²) using the three non-zeros per row of T.
Eigen::MatrixXd propagate_triangle_covariance(const JacobianOperator& J,
                                              const Eigen::Ref<const Eigen::MatrixXd>& X);

}  // namespace kernelmc::theory
