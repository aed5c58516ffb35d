#pragma once
// Leading-order (1/N) prior mean shift of the kernels (THEORY.md §3.4):
//   μ^(1) = 0,  μ^(l) = J^(l)[μ^(l−1)] + ½ ∇²𝒢_l : Σ^(l−1).
// 𝒢_l(C)_ab depends on C_aa, C_bb and C_ab only, so the Hessian term of entry (a, b) is
// ½ g_l Σ_ij ∂_i∂_j ⟨φ_aφ_b⟩ Cov(x_i, x_j) over x = (C_aa, C_bb, C_ab), with exact second
// derivatives (closed forms for linear, erf and ReLU; Price's theorem with 2-D
// Gauss–Hermite for tanh) and the covariances read from the pair-local entries of Σ^(l−1)
// (theory/pair_covariance).
#include <Eigen/Core>
#include <vector>

#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"
#include "theory/jacobian_operators.hpp"
#include "theory/pair_covariance.hpp"

namespace kernelmc::theory {

// ∇²𝒢_l at one kernel C^(l−1), formed once per layer.
struct LayerMapHessian {
  double g = 0.0;                              // g_l
  Eigen::Index points = 0;                     // P
  std::vector<Eigen::Matrix3d> off_diagonal;   // [k] for the k-th pair a < b (row-major): ∂²⟨φ_aφ_b⟩ in (C_aa, C_bb, C_ab)
  Eigen::VectorXd diagonal;                    // d²⟨φ_a²⟩/dC_aa²
};

// ∇²𝒢_l at C_prev = C^(l−1) (l = 2..L+1); `tolerance` for tanh quadrature. A pair of
// coinciding points (C_aa = C_bb = C_ab to 1e-12 relative: duplicated inputs) fluctuates
// along (1, 1, 1) only, where its pair map is the diagonal map; its entry is then
// d²⟨φ_a²⟩/dC_aa² in the (C_aa, C_aa) slot and 0 elsewhere, which contracts with the
// pair's all-equal covariance block to the diagonal's term (the exact Hessian of a smooth φ
// gives the same contraction; ReLU's diverges at such a pair).
LayerMapHessian layer_map_hessian(const core::ModelSpec& spec, Eigen::Index l,
                                  const Eigen::Ref<const Eigen::MatrixXd>& C_prev, double tolerance);

// ½ ∇²𝒢 : Σ (P×P) for Σ the covariance of the entries of C^(l−1): pair-local entries, or
// the K×K covariance of the upper-triangle entries.
Eigen::MatrixXd hessian_contraction(const LayerMapHessian& hessian, const PairCovariance& Sigma_prev);
Eigen::MatrixXd hessian_contraction(const LayerMapHessian& hessian,
                                    const Eigen::Ref<const Eigen::MatrixXd>& Sigma_prev);

// μ^(l) for l = 1..L+1 from J^(l) (`jacobians[l−1]`), ∇²𝒢_l (`hessians[l−1]`) and
// Σ^(l) (`covariance[l−1]`, pair-local or K×K); entries 0 of jacobians and hessians are
// not read.
core::KernelStack prior_mean_shift_recursion(const std::vector<JacobianOperator>& jacobians,
                                             const std::vector<LayerMapHessian>& hessians,
                                             const std::vector<PairCovariance>& covariance);
core::KernelStack prior_mean_shift_recursion(const std::vector<JacobianOperator>& jacobians,
                                             const std::vector<LayerMapHessian>& hessians,
                                             const std::vector<Eigen::MatrixXd>& covariance);

}  // namespace kernelmc::theory
