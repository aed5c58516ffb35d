#include "theory/gauss_hermite.hpp"

#include <Eigen/Eigenvalues>
#include <cmath>

namespace kernelmc::theory {

GaussHermiteRule gauss_hermite_rule(Eigen::Index n) {
  // Golub–Welsch for the probabilists' Hermite polynomials He_k: the Jacobi matrix has
  // zero diagonal and off-diagonal √k; nodes are its eigenvalues, and the weights are
  // the squared first components of its normalised eigenvectors (total mass 1).
  Eigen::MatrixXd jacobi = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index k = 1; k < n; ++k) {
    jacobi(k, k - 1) = std::sqrt(static_cast<double>(k));
    jacobi(k - 1, k) = jacobi(k, k - 1);
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(jacobi);
  GaussHermiteRule rule;
  rule.nodes = eig.eigenvalues();
  rule.weights = eig.eigenvectors().row(0).transpose().array().square();
  return rule;
}

}  // namespace kernelmc::theory
