#pragma once
// Pair expectations ⟨F(h_a, h_b)⟩_C, h ~ N(0, C), of the activation and its derivatives
// (THEORY.md §2 table). linear, erf and ReLU use closed forms; tanh uses the 2-D
// Gauss–Hermite rule with the node count chosen for the requested accuracy. ReLU never
// goes through quadrature: its kink makes Gauss–Hermite converge slowly.
#include <Eigen/Core>
#include <utility>
#include <vector>

#include "core/activation.hpp"
#include "theory/gauss_hermite.hpp"

namespace kernelmc::theory {

// Which pair expectation (THEORY.md §2 table columns).
enum class PairMoment {
  phi_phi,    // ⟨φ_a φ_b⟩
  dphi_dphi,  // ⟨φ'_a φ'_b⟩
  ddphi_phi,  // ⟨φ''_a φ_b⟩ (not symmetric in a, b). ReLU: the distributional value
              // ⟨δ(h_a) relu(h_b)⟩ = √(C_aa C_bb − C_ab²)/(2π C_aa), which makes Price's
              // theorem exact for the (smooth) ReLU pair map; 0 on the diagonal.
};

// One entry: the expectation at C_aa, C_bb, C_ab. With a_equals_b the diagonal
// special forms are used (C_bb = C_ab = C_aa must hold). `tolerance` is the target
// absolute accuracy of tanh quadrature; closed forms ignore it.
double pair_expectation(core::Activation activation, PairMoment moment, double Caa, double Cbb,
                        double Cab, bool a_equals_b, double tolerance);

// The P×P matrix of `moment` over all pairs of inputs of the kernel C; entry (a, b) is
// the expectation for inputs a and b (⟨φ''_a φ_b⟩ for ddphi_phi). Diagonal factors are
// formed once; one quadrature rule (tanh) serves the whole matrix.
Eigen::MatrixXd pair_expectation_matrix(core::Activation activation, PairMoment moment,
                                        const Eigen::Ref<const Eigen::MatrixXd>& C,
                                        double tolerance);

// ⟨φφᵀ⟩_C, ⟨φ'φ'ᵀ⟩_C and ⟨φ''φᵀ⟩_C (entry (a, b) = ⟨φ''_a φ_b⟩).
Eigen::MatrixXd expected_phi_phi(core::Activation activation,
                                 const Eigen::Ref<const Eigen::MatrixXd>& C, double tolerance);
Eigen::MatrixXd expected_dphi_dphi(core::Activation activation,
                                   const Eigen::Ref<const Eigen::MatrixXd>& C, double tolerance);
Eigen::MatrixXd expected_ddphi_phi(core::Activation activation,
                                   const Eigen::Ref<const Eigen::MatrixXd>& C, double tolerance);

// Second derivatives of the off-diagonal pair map ⟨φ_a φ_b⟩ (a ≠ b) with respect to its
// three arguments, in the order (C_aa, C_bb, C_ab), C_ab being one symmetric entry.
// Closed forms for linear (0), erf and ReLU; Price's theorem (THEORY.md §9.1) with 2-D
// Gauss–Hermite for tanh: ∂²/∂C_ab² = ⟨φ''_aφ''_b⟩, ∂²/∂C_aa² = ¼⟨φ''''_aφ_b⟩,
// ∂²/∂C_aa∂C_bb = ¼⟨φ''_aφ''_b⟩, ∂²/∂C_aa∂C_ab = ½⟨φ'''_aφ'_b⟩.
Eigen::Matrix3d pair_expectation_hessian(core::Activation activation, double Caa, double Cbb,
                                         double Cab, double tolerance);

// d²/dq² ⟨φ(h)²⟩, h ~ N(0, q): the diagonal counterpart of pair_expectation_hessian
// (tanh: ½⟨φφ''''⟩ + 2⟨φ'φ'''⟩ + (3/2)⟨φ''²⟩ by 1-D Gauss–Hermite).
double diagonal_expectation_second_derivative(core::Activation activation, double q,
                                              double tolerance);

// φ^{(order)}(x) for order 0..4 (core::Activation gives 0..2). ReLU: the pointwise
// derivative; its distributional parts (δ and derivatives) are dropped.
double activation_derivative_of_order(core::Activation activation, int order, double x);

// The Gauss–Hermite node count at which ⟨φ^{(i)} φ^{(j)}⟩ over one input of variance
// `max_variance` has converged to `tolerance` for every (i, j) in `orders` (the slowest
// case of every 2-D pair with variances ≤ max_variance). Throws NumericalError if it
// does not converge within 1024 nodes.
Eigen::Index pair_quadrature_nodes(core::Activation activation, double max_variance,
                                   double tolerance,
                                   const std::vector<std::pair<int, int>>& orders = {{0, 0}, {1, 1}, {2, 0}});

// ⟨φ^{(i)}(h_a) φ^{(j)}(h_b)⟩ by the 2-D tensor rule `rule` (any activation; for tests
// and for tanh).
double derivative_pair_expectation_quadrature(core::Activation activation, int order_a,
                                              int order_b, double Caa, double Cbb, double Cab,
                                              const GaussHermiteRule& rule);

}  // namespace kernelmc::theory
