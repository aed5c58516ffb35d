#include "theory/gp_likelihood.hpp"

#include <cassert>
#include <string>

#include "core/error.hpp"

namespace kernelmc::theory {

double regularisation(const Eigen::Ref<const Eigen::MatrixXd>& training_block, double kappa) {
  const double jitter = kCholeskyJitter * training_block.trace() / static_cast<double>(training_block.rows());
  return kappa < jitter ? kappa + jitter : kappa;
}

std::optional<Eigen::LLT<Eigen::MatrixXd>> try_regularised_cholesky(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                                                                    Eigen::Index P, double kappa) {
  assert(P <= kernel.rows());
  const double ridge = regularisation(kernel.topLeftCorner(P, P), kappa);
  Eigen::LLT<Eigen::MatrixXd> llt(kernel.topLeftCorner(P, P) + ridge * Eigen::MatrixXd::Identity(P, P));
  if (llt.info() != Eigen::Success) return std::nullopt;
  return llt;
}

Eigen::LLT<Eigen::MatrixXd> regularised_cholesky(std::string_view caller,
                                                 const Eigen::Ref<const Eigen::MatrixXd>& kernel, Eigen::Index P,
                                                 double kappa) {
  std::optional<Eigen::LLT<Eigen::MatrixXd>> llt = try_regularised_cholesky(kernel, P, kappa);
  if (!llt)
    throw NumericalError(std::string(caller) + ": C + kappa I on the " + std::to_string(P) +
                         " training points is not positive definite");
  return std::move(*llt);
}

Eigen::MatrixXd regularised_inverse(const Eigen::LLT<Eigen::MatrixXd>& cholesky) {
  return cholesky.solve(Eigen::MatrixXd::Identity(cholesky.rows(), cholesky.rows()));
}

Eigen::MatrixXd likelihood_gradient(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                                    const Eigen::Ref<const Eigen::MatrixXd>& targets, double kappa) {
  const Eigen::Index P = targets.rows();
  const Eigen::Index n = kernel.rows();
  const Eigen::MatrixXd A = regularised_inverse(regularised_cholesky("likelihood_gradient", kernel, P, kappa));
  // THEORY.md §1.5, §9.1: G = ½(A YYᵀA − D·A).
  const Eigen::MatrixXd AY = A * targets;
  Eigen::MatrixXd G = Eigen::MatrixXd::Zero(n, n);
  const Eigen::MatrixXd block = 0.5 * (AY * AY.transpose() - static_cast<double>(targets.cols()) * A);
  G.topLeftCorner(P, P) = 0.5 * (block + block.transpose());
  return G;
}

double log_likelihood(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                      const Eigen::Ref<const Eigen::MatrixXd>& targets, double kappa) {
  const Eigen::LLT<Eigen::MatrixXd> llt = regularised_cholesky("log_likelihood", kernel, targets.rows(), kappa);
  // ℓ = −½ tr YᵀAY − (D/2) log det(C + κI), log det = 2 Σ log L_ii.
  const Eigen::MatrixXd LinvY = llt.matrixL().solve(targets);
  const double log_det = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
  return -0.5 * LinvY.squaredNorm() - 0.5 * static_cast<double>(targets.cols()) * log_det;
}

}  // namespace kernelmc::theory
