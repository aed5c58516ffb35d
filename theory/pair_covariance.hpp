#pragma once
// The pair-local entries of a kernel covariance (THEORY.md §3.4, §9.2): for every pair of
// inputs (a, b) the 3×3 covariance of (C_aa, C_bb, C_ab), O(P²) numbers instead of the
// K×K matrix (K = P(P+1)/2). They are all that the mean shift needs (𝒢_ab depends on C_aa,
// C_bb and C_ab only), they close under the recursion Σ^(l) = V^(l) + J^(l)Σ^(l−1)J^(l)ᵀ
// (J[M]_ab involves M_ab, M_aa and M_bb only), and their one-layer part V involves
// 4-point functions of at most two distinct inputs: ⟨φ_a²φ_b²⟩ and ⟨φ_a³φ_b⟩.
#include <Eigen/Core>
#include <vector>

#include "core/activation.hpp"
#include "theory/four_point.hpp"
#include "theory/jacobian_operators.hpp"

namespace kernelmc::theory {

struct PairCovariance {
  Eigen::MatrixXd diagonal;      // (a, b): Cov(C_aa, C_bb)
  Eigen::MatrixXd mixed;         // (a, b): Cov(C_ab, C_aa)  (not symmetric; (a, a) = Var(C_aa))
  Eigen::MatrixXd off_diagonal;  // (a, b): Var(C_ab)         ((a, a) = Var(C_aa))

  static PairCovariance zero(Eigen::Index points);
  Eigen::Index points() const { return diagonal.rows(); }
  // The covariance of (C_aa, C_bb, C_ab) for a ≠ b.
  Eigen::Matrix3d block(Eigen::Index a, Eigen::Index b) const;
};
PairCovariance operator+(const PairCovariance& x, const PairCovariance& y);
PairCovariance operator*(double s, const PairCovariance& x);

// The pair-local entries of an explicit K×K covariance over the upper-triangle entries
// (order of core::upper_triangle).
PairCovariance pair_covariance_from_triangle(const Eigen::Ref<const Eigen::MatrixXd>& sigma);

// The pair-local entries of J X Jᵀ from those of X: J maps (C_aa, C_bb, C_ab) of one pair
// into itself, C'_ab = g[⟨φ'_aφ'_b⟩C_ab + ½⟨φ''_aφ_b⟩C_aa + ½⟨φ_aφ''_b⟩C_bb], so O(P²).
PairCovariance propagate_pair_covariance(const JacobianOperator& J, const PairCovariance& X);

// The pair-local entries of the product covariance Q = Cov(φφᵀ, φφᵀ) at C, exactly: Isserlis
// for linear φ, erf_four_point minus the closed-form 2-point functions for erf (the values
// product_covariance_quadrature puts at these entries). Throws ConfigError for tanh and ReLU.
PairCovariance pair_product_covariance_exact(core::Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& C);
// True for the activations pair_product_covariance_exact serves.
bool has_exact_pair_product_covariance(core::Activation activation);

// The same entries from Monte Carlo draws, one unbiased estimate per batch of `draws`
// (the entries of product_covariance_monte_carlo's batches, from three P×P products per batch).
std::vector<PairCovariance> pair_product_covariance_draws(const ActivationDraws& draws);

// Σ^(l) for l = 1..L+1 (returned [l−1]) from the pair-local V^(l) (`one_layer[l−1]`, entry 0
// not read) and J^(l) (`jacobians[l−1]`): the pair-local form of prior_covariance_recursion.
std::vector<PairCovariance> pair_covariance_recursion(const std::vector<PairCovariance>& one_layer,
                                                      const std::vector<JacobianOperator>& jacobians);

}  // namespace kernelmc::theory
