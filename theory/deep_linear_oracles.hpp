#pragma once
// Exact oracles for deep linear networks: φ(x) = x, σ_b = 0, all hidden widths N,
// one output, weight-variance scale g_l per layer.
//   THEORY.md §3.2  prior: Wishart chain, exact mean and second moments of every C^(l);
//   THEORY.md §4.6  first-order (1/N) posterior adaptation δC^(l), deep linear closed form;
//   THEORY.md §4.3  the forward–backward (FB) equations, linear case, solved exactly
//                   (§7.3), the reference for the general FB solver.
// The finite-N posterior over the output scale s and its proportional-limit saddle
// (THEORY.md §7) are in theory/deep_linear_posterior.hpp.
//
// Every function takes the whole ModelSpec and the input kernel K₀ = C^(1) itself: g_1
// and the inputs X only enter through K₀, so spec.g(1) and spec.input_dim are not used.
// Layers are numbered as in THEORY.md: 1 is K₀, L+1 the output kernel.
#include <Eigen/Core>

#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"

namespace kernelmc::theory {

// Throws ConfigError unless `spec` passes core::validate and is a deep linear network:
// model.activation linear, model.bias_variance 0, every model.width[l] equal, model.output_dim 1.
// Throws DataError unless K₀ is square, finite and symmetric (relative 1e-12), and, in the
// second form, y has one finite entry per input.
void check_deep_linear_inputs(const core::ModelSpec& spec,
                              const Eigen::Ref<const Eigen::MatrixXd>& input_kernel);
void check_deep_linear_inputs(const core::ModelSpec& spec,
                              const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                              const Eigen::Ref<const Eigen::VectorXd>& targets);

// ∏_{k=first}^{last} g_k (1 for an empty range). gain_product(spec, 2, L+1) is the G of
// THEORY.md §7.1, the prior mean of the output scale s.
double gain_product(const core::ModelSpec& spec, Eigen::Index first, Eigen::Index last);

// E[C^(l)] = (∏_{k=2}^{l} g_k) K₀ (THEORY.md §3.2); it is also the NNGP kernel C_GP^(l).
// l = 1..L+1; throws ConfigError for another layer.
Eigen::MatrixXd deep_linear_prior_mean(const core::ModelSpec& spec,
                                       const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                       Eigen::Index layer);

// The exact second moments M^(l)_{ab,cd} = E[C^(l)_ab C^(l)_cd] (THEORY.md §3.2) stay in the
// span of K₀⊗K₀ and the pairings, for every N:
//   M^(l)_{ab,cd} = product·K_ab K_cd + pairing·(K_ac K_bd + K_ad K_bc),   K = K₀.
// The recursion M' = g²[M_{ab,cd} + (M_{ac,bd} + M_{ad,bc})/N] acts on (product, pairing) as
//   product' = g²(product + 2·pairing/N),  pairing' = g²(pairing + (product + pairing)/N),
// starting from (1, 0) at l = 1.
struct WishartMomentCoefficients {
  double product = 1.0;  // coefficient of K_ab K_cd
  double pairing = 0.0;  // coefficient of K_ac K_bd + K_ad K_bc
};
WishartMomentCoefficients wishart_moment_coefficients(const core::ModelSpec& spec,
                                                      Eigen::Index layer);

// Cov(C^(l)_ab, C^(l)_cd), exact at finite N, as a K×K matrix over the upper-triangle
// entries (a ≤ b) in core::triangle_index order, K = P(P+1)/2, the layout of the prior
// sampler's accumulators. Memory O(K²). l = 1..L+1 (zero for l = 1).
Eigen::MatrixXd deep_linear_prior_covariance(const core::ModelSpec& spec,
                                             const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                             Eigen::Index layer);

// Var(C^(L+1)_aa) / E[C^(L+1)_aa]² = (1 + 2/N)^L − 1, exact for any input and any g_l
// (THEORY.md §3.2; N = 6, L = 4 gives 2.16049).
double deep_linear_relative_variance(const core::ModelSpec& spec);

// First-order posterior adaptation δC^(l), l = 1..L+1 (δC^(1) = 0), THEORY.md §4.6:
//   δC^(l) = ((l−1)/N) (∏_{k=2}^{l} g_k²)(∏_{k=l+1}^{L+1} g_k) K₀(A yyᵀA − A)K₀,
//   A = (G K₀ + κI)⁻¹,  G = ∏_{k=2}^{L+1} g_k,
// i.e. Σ_cd Cov(C^(l), C^(L+1)_cd) ∂ℓ/∂C_cd at leading order in 1/N. For equal g it is
// ((l−1)/N) g^{L+l−1} K₀(AyyᵀA − A)K₀.
core::KernelStack deep_linear_first_order_adaptation(
    const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
    const Eigen::Ref<const Eigen::VectorXd>& targets);

// Damped fixed-point iteration of THEORY.md §4.5 for the linear FB equations (§4.3):
//   C^(l)   = g_l C^(l−1) (I − 2 g_l C̃^(l) C^(l−1))⁻¹,            l = 2..L+1, C^(1) = K₀,
//   C̃^(l−1) = g_l C̃^(l) (I − 2 g_l C^(l−1) C̃^(l))⁻¹,             l = L+1..3,
//   C̃^(L+1) = (A yyᵀA − A)/(2N),  A = (C^(L+1) + κI)⁻¹.
struct LinearFbSettings {
  double damping = 0.5;      // η ∈ (0, 1] of C ← (1−η)C + η C_new (THEORY.md §4.5, §9.6: 0.3–0.5)
  int max_iterations = 10000;
  double tolerance = 1e-12;  // stop when max|C_new − C| ≤ tolerance·max|C| (THEORY.md §4.5)
};
struct LinearFbSolution {
  core::KernelStack kernels;            // C^(l), l = 1..L+1; layer(1) = K₀
  core::KernelStack conjugate_kernels;  // C̃^(l), l = 1..L+1; layer(1) = 0 (C^(1) is fixed)
  int iterations = 0;
  double residual = 0.0;                // relative max-abs change at the last iteration
};
// Throws ConfigError naming linear_fb.damping / .max_iterations / .tolerance for a bad
// setting, and NumericalError when the iteration does not converge, produces a non-finite
// kernel or a kernel that is not positive semidefinite (the message carries the residual
// history).
LinearFbSolution linear_fb_kernels(const core::ModelSpec& spec,
                                   const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                   const Eigen::Ref<const Eigen::VectorXd>& targets,
                                   const LinearFbSettings& settings = {});

}  // namespace kernelmc::theory
