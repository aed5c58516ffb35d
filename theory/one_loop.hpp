#pragma once
// First-order (tree-level, O(1/N)) posterior adaptation of every layer's kernel and the
// predicted posterior mean kernel (THEORY.md §4.6, §5.1):
//   G = ∂ℓ/∂C^(L+1) = ½(A YYᵀA − D·A),  A = (C_GP^(L+1) + κI)⁻¹   (unsymmetrised, §9.1),
//   G^(l) = J^(l+1)ᵀ ⋯ J^(L+1)ᵀ [G]                                   (backward propagation),
//   δC^(l) = Σ^(l)[G^(l)] = Σ_cd Cov(C^(l), C^(L+1)_cd) ∂ℓ/∂C_cd,
//   E_post[C^(l)] = C_GP^(l) + μ^(l) + δC^(l) + O(1/N²).
// With equal widths N the tilts are C̃^(l) = G^(l)/N and δC^(l) = NΣ^(l)[C̃^(l)], THEORY.md
// verbatim. With unequal widths the tilt of layer l is C̃^(l) = G^(l)/N_{l−1}, the
// convention of theory/fb_solver (its width ratios), and δC^(l) = N_{l−1}Σ^(l)[C̃^(l)];
// δC itself, the convention-free object, is Σ^(l)[G^(l)] in both cases.
//
// Σ^(l)[M] is applied through the operator recursion of theory/prior_covariance (no P⁴
// object, THEORY.md §9.2); an explicit K×K form is provided for small P and tests. With
// Monte Carlo 4-point functions δC is linear in the V's, so each batch replicate of the
// draws is pushed through the whole recursion and the spread of the replicates gives the
// standard error (as in theory/prior_moments).
//
// Test points: every entry point takes inputs with P + T rows of which only the first P
// (the rows of the targets) carry the likelihood. The gradient G is then the training
// block's, zero elsewhere, and all kernels are (P+T)×(P+T): the test rows of δC^(l) are
// the adaptation between test and training points (THEORY.md §5.2).
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "core/dataset.hpp"
#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"
#include "core/settings/theory.hpp"
#include "theory/gp_likelihood.hpp"
#include "theory/jacobian_operators.hpp"
#include "theory/prior_covariance.hpp"
#include "theory/prior_moments.hpp"

namespace kernelmc::theory {

// Throws ConfigError unless `spec` passes core::validate, DataError unless `inputs` has
// spec.input_dim columns, `targets` spec.output_dim columns and 1..inputs.rows() rows, and
// both are finite.
void check_one_loop_inputs(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                           const Eigen::Ref<const Eigen::MatrixXd>& targets);

// A Monte Carlo estimate from batch replicates: their mean, and their standard deviation
// / √B (zero for a single, deterministic replicate).
struct MatrixEstimate {
  Eigen::MatrixXd value;
  Eigen::MatrixXd standard_error;
};
MatrixEstimate replicate_estimate(const std::vector<Eigen::MatrixXd>& replicates);

// likelihood_gradient and log_likelihood (THEORY.md §1.5): theory/gp_likelihood.hpp.

// G^(l) = J^(l+1)ᵀ[G^(l+1)], G^(L+1) = `output_gradient`, for l = 1..L+1 (THEORY.md §4.6);
// jacobians[l−1] = J^(l) (entry 0 unused).
core::KernelStack backpropagate_gradient(const std::vector<JacobianOperator>& jacobians,
                                         const Eigen::Ref<const Eigen::MatrixXd>& output_gradient);

// Σ^(l) as operators, one per replicate: a single operator when V comes from quadrature,
// kFourPointBatches when it comes from Monte Carlo, replicate b using batch b of the draws
// of every layer. The draws are those of prior_covariance_operator and prior_moments
// (make_stream(seed, four_point_mc, 0, l), settings.four_point_samples), so the mean of the
// replicates' Σ[M] equals prior_covariance_operator(...).apply(l, M) up to rounding.
struct PriorCovarianceReplicates {
  core::FourPointMethod method = core::FourPointMethod::quadrature;  // never automatic
  std::vector<PriorCovarianceOperator> replicates;

  // Σ^(l)[M] for every replicate, and their estimate.
  std::vector<Eigen::MatrixXd> apply(Eigen::Index l, const Eigen::Ref<const Eigen::MatrixXd>& M) const;
  MatrixEstimate estimate(Eigen::Index l, const Eigen::Ref<const Eigen::MatrixXd>& M) const;
};
// For `spec` with NNGP kernels `nngp` (evaluated on the inputs; the 4-point method is
// four_point_method_for(spec, nngp, settings)).
PriorCovarianceReplicates prior_covariance_replicates(const core::ModelSpec& spec, const core::KernelStack& nngp,
                                                      const core::TheorySettings& settings, std::uint64_t seed);

// δC^(l) = Σ^(l)[G^(l)] for l = 1..L+1 (operator form) from the backpropagated gradients,
// with the replicates' standard errors.
struct AdaptationEstimate {
  core::KernelStack value;
  core::KernelStack standard_error;
};
AdaptationEstimate first_order_adaptation(const PriorCovarianceReplicates& covariance,
                                          const core::KernelStack& gradients);

// Explicit forms (small P; K×K matrices over the upper-triangle entries, order of
// core::upper_triangle, K = P(P+1)/2). `covariance[l−1]` = Σ^(l) (as PriorMoments holds it).
// Cov(C^(l), C^(m)) = Σ^(l) (T^(m) ⋯ T^(l+1))ᵀ for m ≥ l (THEORY.md §3.4), T^(k) the
// triangle matrix of J^(k): entry (k, k') = Cov(C^(l)_k, C^(m)_k').
Eigen::MatrixXd cross_layer_covariance(const std::vector<Eigen::MatrixXd>& covariance,
                                       const std::vector<JacobianOperator>& jacobians, Eigen::Index l,
                                       Eigen::Index m);
// The gradient with respect to the K independent entries x_k of a symmetric matrix, from
// the unsymmetrised G: ∂F/∂x_(a,a) = G_aa, ∂F/∂x_(a,b) = G_ab + G_ba for a < b (THEORY.md
// §9.1: an upper-triangle gradient without this factor 2 is the classic pitfall).
Eigen::VectorXd triangle_gradient(const Eigen::Ref<const Eigen::MatrixXd>& G);
// δC^(l)_k = Σ_k' Cov(C^(l)_k, C^(L+1)_k') ∂ℓ/∂x_k' (the boxed formula of THEORY.md §4.6),
// l = 1..L+1.
core::KernelStack explicit_first_order_adaptation(const std::vector<Eigen::MatrixXd>& covariance,
                                                  const std::vector<JacobianOperator>& jacobians,
                                                  const Eigen::Ref<const Eigen::MatrixXd>& output_gradient);

struct OneLoopPrediction {
  core::KernelStack nngp;            // C_GP^(l), l = 1..L+1
  core::KernelStack tilts;           // C̃^(l) = G^(l)/N_{l−1} at first order (l = 2..L+1; zero at l = 1)
  core::KernelStack adaptation;      // δC^(l) = Σ^(l)[G^(l)] (O(1/N)); zero at l = 1
  core::KernelStack mean_shift;      // μ^(l) (O(1/N), theory/prior_moments); zero at l = 1
  core::KernelStack posterior_mean;  // C_GP + μ + δC
  // Monte Carlo standard errors (zero with quadrature), entrywise.
  core::KernelStack adaptation_standard_error;
  core::KernelStack mean_shift_standard_error;
  core::FourPointMethod method_used = core::FourPointMethod::quadrature;
};

// The one-loop posterior kernels of `spec` trained on `data` (THEORY.md §4.6, §5.1), by the
// route choose_one_loop_route picks (theory/one_loop_route, without the exact-beyond-
// quadrature_max_points rule): explicit, μ from prior_moments (K×K Σ, and with Monte Carlo
// kFourPointBatches K×K replicates per layer) and δC from the operator form; where those do
// not fit, theory/one_loop_operator (no K×K object). Throws ConfigError for a
// bad spec or settings, DataError when the data do not fit the spec, NumericalError when
// C_GP^(L+1) + κI is not positive definite.
OneLoopPrediction one_loop_prediction(const core::ModelSpec& spec, const core::Dataset& data,
                                      const core::TheorySettings& settings, std::uint64_t seed);

// The same on P + T inputs of which the first P = targets.rows() are the training points
// (the test points carry no likelihood term; see the file comment).
OneLoopPrediction one_loop_prediction(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                                      const Eigen::Ref<const Eigen::MatrixXd>& targets,
                                      const core::TheorySettings& settings, std::uint64_t seed);

// The explicit route's kernels from prior statistics already computed on the P + T inputs:
// `prior` = prior_moments(spec, inputs, settings, seed) and `covariance` =
// prior_covariance_replicates(spec, prior.nngp, settings, seed), the numbers the overloads
// above compute on that route. A caller that also needs the one-loop predictions
// (one_loop_gp_prediction's overload taking them) computes them once.
OneLoopPrediction one_loop_prediction(const core::ModelSpec& spec, PriorMoments prior,
                                      const PriorCovarianceReplicates& covariance,
                                      const Eigen::Ref<const Eigen::MatrixXd>& targets,
                                      const core::TheorySettings& settings);

}  // namespace kernelmc::theory
