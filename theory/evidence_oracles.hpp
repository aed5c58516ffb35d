#pragma once
// Closed-form and one-dimensional evidences Z = ∫ prior · likelihood, the oracles of the
// importance and SMC routes' log Z (THEORY.md §1.5, §3.2, §7).
//
// Bayesian linear regression in raw coordinates (the form every kernelmc potential has):
//   θ ~ N(0, I_n),  y | θ ~ N(Aθ, κI_P),  A ∈ ℝ^{P×n}.
// Weight space: Σ = (I + AᵀA/κ)⁻¹, μ = ΣAᵀy/κ, and
//   log Z = −(P/2) log 2πκ − ½ yᵀy/κ + ½ μᵀΣ⁻¹μ − ½ log det Σ⁻¹
// (completing the square), which equals the function-space form log N(y; 0, AAᵀ + κI) by
// Woodbury and the matrix determinant lemma (a test checks the two routes agree).
//
// Deep linear network, L = 1 (THEORY.md §3.2, §7.1): f | u ~ N(0, g_2 u K₀) with
// u ~ χ²_N/N = Gamma(N/2, scale 2/N), so exactly at finite N and P
//   Z = ∫_0^∞ Gamma(u; N/2, 2/N) N(y; 0, g_2 u K₀ + κI) du,
// a 1-D integral over t = log u (adaptive Gauss–Kronrod, Boost.Math) in the eigenbasis of K₀.
#include <Eigen/Core>

#include "core/model_spec.hpp"

namespace kernelmc::theory {

struct LinearGaussianPosterior {
  double log_evidence = 0.0;   // log Z
  Eigen::VectorXd mean;        // E[θ | y] = μ
  Eigen::MatrixXd covariance;  // Cov[θ | y] = Σ
};

// Throws DataError when A and y disagree in P or are not finite, ConfigError for κ ≤ 0.
LinearGaussianPosterior bayesian_linear_regression(const Eigen::Ref<const Eigen::MatrixXd>& design,
                                                   const Eigen::Ref<const Eigen::VectorXd>& targets,
                                                   double kappa);

// log N(y; 0, S) for a symmetric positive definite S (LDLT): the function-space form.
double gaussian_log_density(const Eigen::Ref<const Eigen::VectorXd>& y,
                            const Eigen::Ref<const Eigen::MatrixXd>& covariance);

// log Z of a deep linear network with one hidden layer (L = 1, THEORY.md §7.1), exact at
// finite N and P; relative accuracy of Z ≤ 1e-9 (Gauss–Kronrod error estimate). Throws as check_deep_linear_inputs
// (ConfigError unless L = 1), NumericalError if the quadrature does not converge.
double deep_linear_one_layer_log_evidence(const core::ModelSpec& spec,
                                          const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                          const Eigen::Ref<const Eigen::VectorXd>& targets);

}  // namespace kernelmc::theory
