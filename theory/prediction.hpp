#pragma once
// Predictive mean and variance of the network output f_* at test points x_* (THEORY.md
// §1.5, §5.2). Every route works on the augmented kernel: the P training inputs first,
// then the T test inputs ((P+T)×(P+T) at every layer), with the likelihood on the training
// block only. Three predictors:
//   (a) NNGP: GP regression with C_GP^(L+1) (nngp_prediction);
//   (b) a given kernel stack, e.g. the FB kernels (fb_prediction). The FB solver works on
//       the training points. The augmented FB problem, test points carrying no likelihood
//       term, decouples exactly [D]: its output tilt ∂ℓ/∂C is zero on the test rows, and
//       𝒲_{l+1}(C̃ | C) with C̃ supported on the training block depends only on that block
//       of C^(l) (the marginal of N(0, C) on it), so every C̃^(l) is zero on the test rows
//       and the training block of every C^(l) is the FB solution on the training points.
//       The test rows then follow from one forward sweep of (F) on the augmented measures
//       with the solution's tilts padded by zeros (extend_fb_kernels); no FB-solver change
//       is needed;
//   (c) one loop (THEORY.md §5.2), at C_GP on the augmented kernel, with m = k_*ᵀ(K+κ)⁻¹y and
//       v = C_** − k_*ᵀ(K+κ)⁻¹k_*:
//         E[f_*|D]   = m + ∇m·(μ + Σ∇ℓ) + ½Σ:∇²m,
//         Var[f_*|D] = v + ∇v·(μ + Σ∇ℓ) + ½Σ:∇²v + ∇mᵀΣ∇m,
//       by two routes: gradient_hessian (closed-form derivatives; Σ only through operator
//       applications, P·(D+T) + T·D of them, so no P⁴ object and no explicit Hessian) and
//       superposition (the Gaussian average of F(C_GP + δ)e^{ℓ(C_GP + δ)}, δ ~ N(μ, Σ), by a
//       degree-3 rule on the eigen-directions of the explicit Σ: small P). Both agree to
//       O(1/N²).
// With u_* = e_* − (b_*, 0) (b_* = (K+κ)⁻¹k_*, padded to P+T) and ã = ((K+κ)⁻¹y, 0) the
// derivatives are [D]:
//   ∇m·Δ = u_*ᵀΔã,   ½d²m[δ] = −(δu_*)_trᵀ(K+κ)⁻¹(δã)_tr,
//   ∇v·Δ = u_*ᵀΔu_*, ½d²v[δ] = −(δu_*)_trᵀ(K+κ)⁻¹(δu_*)_tr,
// (·)_tr the training rows, so ∂m/∂C = sym(u_*ãᵀ) and ∂v/∂C = u_*u_*ᵀ (unsymmetrised, §9.1).
#include <Eigen/Core>
#include <cstdint>
#include <functional>

#include "core/dataset.hpp"
#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"
#include "core/settings/fb.hpp"
#include "core/settings/theory.hpp"
#include "theory/fb_solver.hpp"
#include "theory/one_loop.hpp"
#include "theory/prior_moments.hpp"

namespace kernelmc::theory {

// The training inputs (P×d) above the test inputs (T×d). Throws DataError unless T ≥ 1,
// the test inputs have d columns and every entry is finite.
Eigen::MatrixXd augmented_inputs(const core::Dataset& training, const Eigen::Ref<const Eigen::MatrixXd>& test_inputs);

// GP regression with one augmented kernel (THEORY.md §1.5, "predictive given θ_h"): the
// first P = targets.rows() rows are the training points, the remaining T the test points.
// Throws NumericalError if K + κI is not positive definite.
struct GpPrediction {
  Eigen::MatrixXd mean;      // T×D: k_*ᵀ(K + κI)⁻¹Y
  Eigen::VectorXd variance;  // T: C_** − k_*ᵀ(K + κI)⁻¹k_*, of the latent f_* (add κ for a noisy target)
};
GpPrediction gp_prediction(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                           const Eigen::Ref<const Eigen::MatrixXd>& targets, double kappa);

// (a) GP regression with the NNGP output kernel C_GP^(L+1) of the augmented inputs.
GpPrediction nngp_prediction(const core::ModelSpec& spec, const core::Dataset& data,
                             const Eigen::Ref<const Eigen::MatrixXd>& test_inputs,
                             const core::TheorySettings& settings);

// (b) The FB kernels of `solution` (solve_fb on `data` with `settings`) extended to the test
// points: C^(1) of the augmented inputs, then for l = 2..L+1
//   C^(l) = σ_b² 𝟏𝟏ᵀ + g_l ⟨φφᵀ⟩_q,  q(h) ∝ N(h; 0, C^(l−1)) e^{g_l φᵀC̃^(l)φ},
// with C̃^(l) the solution's tilt on the training block and zero elsewhere, evaluated by the
// solution's method (linear closed form, first order, the (P+T)-dimensional tensor rule with
// settings.quadrature_nodes, or settings.importance_samples draws of dimension P+T from
// tilted_base_draws(settings.seed, l, ...)) with the settings' options. The training block
// reproduces the solution: exactly for the closed form and first order, within the
// quadrature or Monte Carlo error otherwise (the point set has one dimension more).
// Throws ConfigError as solve_fb does for a method that does not fit P + T points.
core::KernelStack extend_fb_kernels(const core::ModelSpec& spec, const core::Dataset& data,
                                    const Eigen::Ref<const Eigen::MatrixXd>& test_inputs,
                                    const FbSolution& solution, const FbSettings& settings);
// GP regression with the extended FB output kernel, one test point at a time (the predictive
// marginal of x_* needs only the (P+1)×(P+1) kernel, and the tensor rule only P + 1 ≤
// kMaxQuadraturePoints dimensions).
GpPrediction fb_prediction(const core::ModelSpec& spec, const core::Dataset& data,
                           const Eigen::Ref<const Eigen::MatrixXd>& test_inputs, const FbSolution& solution,
                           const FbSettings& settings);

// (c) The terms of THEORY.md §5.2 for one augmented kernel C (= C_GP^(L+1)), one first-order
// shift Δ = μ + Σ∇ℓ and one covariance Σ, given as Σ[M] on symmetric (P+T)×(P+T) matrices
// (M ↦ Σ_cd Cov(C_ab, C_cd) M_cd over ordered pairs).
struct PredictiveCorrections {
  Eigen::MatrixXd mean_shift;            // T×D: ∇m·Δ
  Eigen::MatrixXd mean_curvature;        // T×D: ½Σ:∇²m
  Eigen::VectorXd variance_shift;        // T:   ∇v·Δ
  Eigen::VectorXd variance_curvature;    // T:   ½Σ:∇²v
  Eigen::MatrixXd variance_fluctuation;  // T×D: ∇mᵀΣ∇m
};
using CovarianceOperator = std::function<Eigen::MatrixXd(const Eigen::MatrixXd&)>;
PredictiveCorrections predictive_corrections(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                                             const Eigen::Ref<const Eigen::MatrixXd>& targets, double kappa,
                                             const Eigen::Ref<const Eigen::MatrixXd>& shift,
                                             const CovarianceOperator& covariance);

// Posterior predictive moments per test point and output (T×D each).
struct PredictiveMoments {
  Eigen::MatrixXd mean;
  Eigen::MatrixXd variance;
};
// The Gaussian superposition of GPs (THEORY.md §5.2): with F = m, v and weights e^{ℓ},
//   E[f_*] = E_δ[m e^ℓ]/E_δ[e^ℓ],  Var = E_δ[v e^ℓ]/E_δ[e^ℓ] + E_δ[(m − E[f_*])² e^ℓ]/E_δ[e^ℓ],
// δ ~ N(μ, Σ) on the augmented kernel C + δ, each E_δ by the rule
//   E_δ[h] ≈ (1 − n/3) h(μ) + Σ_j [h(μ + √(3λ_j) U_j) + h(μ − √(3λ_j) U_j)]/6,
// the 3-point Gauss–Hermite rule along each of the n eigen-directions (λ_j, U_j) of Σ with
// λ_j > 1e-14·λ_max. It is exact for polynomials of degree ≤ 3 in δ, so it differs from the
// Gaussian average at O(Σ²) = O(1/N²). `covariance` is the explicit K×K Σ over the upper
// triangle of the (P+T)×(P+T) kernel, `mean_shift` μ (P+T)×(P+T). Throws NumericalError if
// K + κI is not positive definite at a node (N too small for the expansion).
PredictiveMoments superposition_prediction(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                                           const Eigen::Ref<const Eigen::MatrixXd>& targets, double kappa,
                                           const Eigen::Ref<const Eigen::MatrixXd>& mean_shift,
                                           const Eigen::Ref<const Eigen::MatrixXd>& covariance);

enum class PredictionRoute {
  gradient_hessian,  // closed-form derivatives, Σ as an operator (any P; Monte Carlo SEs)
  superposition,     // superposition_prediction with the explicit quadrature Σ (small P)
};

struct OneLoopGpPrediction {
  GpPrediction nngp;          // m, v at C_GP^(L+1)
  Eigen::MatrixXd mean;       // T×D: E[f_*|D] to O(1/N)
  Eigen::MatrixXd variance;   // T×D: Var[f_*|D] to O(1/N) (∇mᵀΣ∇m depends on the output)
  PredictiveCorrections terms;  // gradient_hessian: the terms (estimates); superposition: empty
  // Standard errors of mean and variance from the Monte Carlo 4-point functions (zero with
  // quadrature): the spread of the batch replicates of the Σ-terms plus Σ|∂F/∂μ_ab|·SE(μ_ab),
  // an upper bound for the μ-term (prior_moments gives μ's SE entry by entry, not its
  // replicates).
  Eigen::MatrixXd mean_standard_error;
  Eigen::MatrixXd variance_standard_error;
  core::FourPointMethod method_used = core::FourPointMethod::quadrature;
};

// (c) The one-loop predictive mean and variance of `spec` trained on `data` at `test_inputs`
// (T×d). μ and Σ are those of prior_moments / prior_covariance_replicates on the augmented
// inputs (seed as there). The superposition route needs the quadrature Σ (ConfigError
// naming theory.four_point otherwise). Throws ConfigError where choose_one_loop_route picks
// the operator route (no explicit Σ fits P + T) and for a bad spec or settings,
// DataError when the data do not fit the spec, NumericalError when K + κI is not positive
// definite.
OneLoopGpPrediction one_loop_gp_prediction(const core::ModelSpec& spec, const core::Dataset& data,
                                           const Eigen::Ref<const Eigen::MatrixXd>& test_inputs,
                                           const core::TheorySettings& settings, std::uint64_t seed,
                                           PredictionRoute route = PredictionRoute::gradient_hessian);

// The gradient/Hessian route from prior statistics already computed on the augmented
// inputs: `prior` = prior_moments(spec, augmented_inputs(data, test_inputs), settings,
// seed) and `covariance` = prior_covariance_replicates(spec, prior.nngp, settings, seed),
// the numbers the overload above computes (with theory/one_loop's overload taking them, a
// caller computes them once for both). DataError if `prior` is not on P + T inputs.
OneLoopGpPrediction one_loop_gp_prediction(const core::ModelSpec& spec, const core::Dataset& data,
                                           const Eigen::Ref<const Eigen::MatrixXd>& test_inputs,
                                           const PriorMoments& prior, const PriorCovarianceReplicates& covariance);

}  // namespace kernelmc::theory
