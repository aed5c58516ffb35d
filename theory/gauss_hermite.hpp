#pragma once
// Gauss–Hermite rules for Gaussian expectations (THEORY.md §2): probabilists' nodes z_i
// and weights w_i with Σ w_i = 1, so that Σ w_i f(z_i) ≈ E f(Z), Z ~ N(0, 1).
#include <Eigen/Core>
#include <functional>
#include <vector>

namespace kernelmc::theory {

struct GaussHermiteRule {
  Eigen::VectorXd nodes;    // z_i
  Eigen::VectorXd weights;  // w_i, summing to 1
};

// The n-point rule, exact for polynomials of degree ≤ 2n − 1 (Golub–Welsch nodes,
// Christoffel-number weights; O(n²), exactly symmetric).
GaussHermiteRule gauss_hermite_rule(Eigen::Index n);

// The node counts the accuracy search tries, in increasing order (8 … 1024, steps of
// about ×1.3). Saturating φ at large variance needs many nodes: for ⟨tanh(h)²⟩ to 1e-11,
// n ≈ 80 at variance 1, 256 at 2, 512 at 4 and 1024 at 8 (measured).
const std::vector<Eigen::Index>& gauss_hermite_node_schedule();

// The smallest node count n of the schedule whose rule agrees with the previous one
// (in the schedule) to `tolerance` for every function in `integrands` (1-D, against
// N(0, 1)). Since the error falls geometrically for analytic f, the difference of two
// successive rules bounds the error of the larger one. Throws NumericalError if no
// pair of rules up to 1024 nodes agrees.
Eigen::Index gauss_hermite_nodes_for(const std::vector<std::function<double(double)>>& integrands,
                                     double tolerance);

// E F(h_a, h_b) for (h_a, h_b) ~ N(0, [[C_aa, C_ab], [C_ab, C_bb]]) by the tensor rule on
// the Cholesky factor (THEORY.md §2, steps 1–3): h_a = √C_aa z₁,
// h_b = (C_ab/√C_aa) z₁ + √(C_bb − C_ab²/C_aa) z₂ (a zero C_aa or a singular S is
// handled by the same formula with the square roots of non-positive numbers set to 0).
double gaussian_pair_expectation(const std::function<double(double, double)>& F, double Caa,
                                 double Cbb, double Cab, const GaussHermiteRule& rule);

// E F(h) for h ~ N(0, S), S m×m positive semi-definite, by the full tensor rule (n^m
// nodes) on an eigen square root of S. Slow and general: an independent route for tests
// of the specialised 4-point code.
double gaussian_expectation(const std::function<double(const Eigen::VectorXd&)>& F,
                            const Eigen::Ref<const Eigen::MatrixXd>& S,
                            const GaussHermiteRule& rule);

}  // namespace kernelmc::theory
