#pragma once
// The collapsed-readout Gaussian likelihood of THEORY.md §1.5 for D outputs, on the leading
// P×P (training) block C_tt of a kernel whose remaining rows are test points:
//   ℓ(C) = −½ tr YᵀAY − (D/2) log det(C_tt + κI),   A = (C_tt + κI)⁻¹,
//   G = ∂ℓ/∂C = ½(A YYᵀA − D·A)   (unsymmetrised convention, §9.1; zero on the test rows),
// and the κ-regularised Cholesky factor they share (with THEORY.md §1.5's jitter
// 1e-10·tr(C_tt)/P added when κ is below it). Every user of ℓ, G, A or A Y in theory/ goes
// through this file.
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <optional>
#include <string_view>

namespace kernelmc::theory {

// Relative jitter of THEORY.md §1.5: the ridge is κ, or κ + kCholeskyJitter·tr(C_tt)/P when
// κ is below kCholeskyJitter·tr(C_tt)/P.
inline constexpr double kCholeskyJitter = 1e-10;

// The ridge added to C_tt: κ, or κ + jitter as above.
double regularisation(const Eigen::Ref<const Eigen::MatrixXd>& training_block, double kappa);

// The Cholesky factor of C_tt + ridge·I, C_tt the leading P×P block of `kernel`; nullopt
// when that matrix is not positive definite (for callers that treat it as data).
std::optional<Eigen::LLT<Eigen::MatrixXd>> try_regularised_cholesky(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                                                                    Eigen::Index P, double kappa);
// As above, but throws NumericalError ("`caller`: C + kappa I on the P training points is not
// positive definite").
Eigen::LLT<Eigen::MatrixXd> regularised_cholesky(std::string_view caller,
                                                 const Eigen::Ref<const Eigen::MatrixXd>& kernel, Eigen::Index P,
                                                 double kappa);

// A = (C_tt + κI)⁻¹ from its Cholesky factor.
Eigen::MatrixXd regularised_inverse(const Eigen::LLT<Eigen::MatrixXd>& cholesky);

// G = ∂ℓ/∂C (see the file comment), (P+T)×(P+T) with P = targets.rows() ≤ kernel.rows(),
// symmetrised. Throws NumericalError if C_tt + κI is not positive definite.
Eigen::MatrixXd likelihood_gradient(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                                    const Eigen::Ref<const Eigen::MatrixXd>& targets, double kappa);
// ℓ(C) itself (see the file comment), same blocks and errors.
double log_likelihood(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                      const Eigen::Ref<const Eigen::MatrixXd>& targets, double kappa);

}  // namespace kernelmc::theory
