#pragma once
// Gauss–Hermite rules for Gaussian expectations (THEORY.md §2): probabilists' nodes z_i
// and weights w_i with Σ w_i = 1, so that Σ w_i f(z_i) ≈ E f(Z), Z ~ N(0, 1).
#include <Eigen/Core>

namespace kernelmc::theory {

struct GaussHermiteRule {
  Eigen::VectorXd nodes;    // z_i
  Eigen::VectorXd weights;  // w_i, summing to 1
};

// The n-point rule, exact for polynomials of degree ≤ 2n − 1 (Golub–Welsch).
GaussHermiteRule gauss_hermite_rule(Eigen::Index n);

}  // namespace kernelmc::theory
