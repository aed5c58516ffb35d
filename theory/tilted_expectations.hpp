#pragma once
// Expectations under the tilted measure of one layer (THEORY.md §4.3, §4.4):
//   q(h) ∝ N(h; 0, C) e^{g φ(h)ᵀ C̃ φ(h)},   h ∈ ℝ^P (one neuron, all P inputs),
// with C = C^(l−1), C̃ = C̃^(l), g = g_l. The FB equations need two things from q:
//   (F) the tilted second moment ⟨φφᵀ⟩_q, so that C^(l) = σ_b² 𝟏𝟏ᵀ + g ⟨φφᵀ⟩_q;
//   (B) the gradient ∂𝒲/∂C of 𝒲(C̃ | C) = σ_b² 𝟏ᵀC̃𝟏 + log⟨e^{gφᵀC̃φ}⟩_C, in the unsymmetrised
//       convention of §9.1, in one of two equivalent forms:
//         score: ½[C⁻¹⟨hhᵀ⟩_q C⁻¹ − C⁻¹]   (needs C positive definite);
//         Price: g⟨φ'_a C̃_ab φ'_b + δ_ab φ''_a (C̃φ)_a⟩_q + 2g²⟨φ'_a (C̃φ)_a φ'_b (C̃φ)_b⟩_q.
// Four methods (THEORY.md §4.4): the linear closed form, first order in C̃, tensor
// Gauss–Hermite on the full P-dimensional measure (P ≤ 5), and importance sampling from
// fixed base draws. Every method returns an error estimate. The points are mapped to h = R z
// with a factor R Rᵀ = C: Cholesky for random draws (cheap), the symmetric root for a rule
// and for a C singular to rounding (CovarianceRootKind).
#include <Eigen/Core>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/activation.hpp"
#include "core/config.hpp"

namespace kernelmc::theory {

// TiltMethod and TiltGradientForm are config choices ([theory.fb]); they live in core.
using core::parse_tilt_gradient_form;
using core::parse_tilt_method;
using core::tilt_gradient_form_name;
using core::tilt_method_name;
using core::TiltGradientForm;
using core::TiltMethod;

// Largest P for the tensor Gauss–Hermite method (THEORY.md §4.4 item 3: n^P nodes).
inline constexpr Eigen::Index kMaxQuadraturePoints = 5;
// Largest P for which the exact first-order term g Q[C̃] of a non-linear φ is formed: Q is
// a K×K matrix, K = P(P+1)/2, of 4-point functions (theory/four_point). Linear φ uses
// Isserlis' theorem in operator form, Q[M] = 2 C M C, at any P.
inline constexpr Eigen::Index kMaxExactFirstOrderPoints = 12;
// Nodes per dimension of the 4-D Gauss–Hermite rule for the 4-point functions of tanh and
// ReLU (erf and linear are exact): THEORY.md §2, n = 28 gives ≈ 0.05 % per entry. Every
// error estimate below includes the change when the rule drops to
// coarse_quadrature_nodes(n) = ⌈2n/3⌉ nodes (19 for 28).
inline constexpr Eigen::Index kFirstOrderFourPointNodes = 28;
// Consecutive batches of the importance-sampling draws (core/config.hpp, as theory.fb
// validates importance_samples against it).
using core::kImportanceBatches;

// One evaluation. Errors are absolute, entry by entry.
struct TiltedExpectations {
  Eigen::MatrixXd second_moment;        // ⟨φφᵀ⟩_q, P×P
  Eigen::MatrixXd second_moment_error;  // 0 (closed form; first order with linear/erf φ), |rule n − rule m|
                                        // (quadrature; 4-D rule of tanh/ReLU), SE (IS); see each method
  Eigen::MatrixXd gradient;             // ∂𝒲/∂C, P×P, unsymmetrised convention (THEORY.md §9.1)
  Eigen::MatrixXd gradient_error;       // as second_moment_error
  // Kish effective sample size (Σw)²/Σw² of the importance weights w ∝ e^{gφᵀC̃φ}
  // (importance sampling only; NaN for the other methods).
  double effective_sample_size = 0.0;
  // Order in C̃ of the neglected terms that the error does not include: 2 for first_order
  // (O(C̃²) = O(1/N²) at C̃ = O(1/N)), 0 for the other methods.
  int truncation_order = 0;
};

// Standard-normal coordinates z of a point set and their weights: h = R z with R Rᵀ = C.
struct GaussianPoints {
  Eigen::MatrixXd z;                       // M×P
  Eigen::VectorXd weights;                 // M, summing to 1
  std::vector<Eigen::Index> batch_starts;  // replicate batches (first row of each, then M); empty for a rule
};

// How h = R z is formed from standard-normal points z, R Rᵀ = C. Every R gives h ~ N(0, C)
// for random draws; for a deterministic rule the choice moves the nodes (by the rule's error).
enum class CovarianceRootKind {
  automatic,  // cholesky for random draws (points with batch_starts), symmetric for a rule
  cholesky,   // the lower Cholesky factor L, ≈ P³/3 flops; the symmetric root where C is not
              // positive definite with every pivot L_aa² > kCholeskyPivotFloor · max_a C_aa
  symmetric,  // C^{1/2} = VΛ^{1/2}Vᵀ (eigendecomposition, ≈ 9P³ flops): any PSD C, continuous
              // in C also where C is singular (the input kernel of rank ≤ d)
};
// Smallest Cholesky pivot L_aa², relative to max_a C_aa, for the cholesky route: below it C
// counts as singular to rounding and the symmetric root is used (rounding of a rank-deficient
// kernel leaves pivots near 1e-16 · max C_aa, so 1e-10 keeps six orders of margin, and the
// FB iterates of a well-conditioned kernel stay on one side of it).
inline constexpr double kCholeskyPivotFloor = 1e-10;

// A factor R of C (R Rᵀ = C) and, where asked for and C is invertible, R⁻¹.
struct CovarianceFactor {
  Eigen::MatrixXd root;     // R: lower triangular (cholesky) or symmetric
  Eigen::MatrixXd inverse;  // R⁻¹, formed only with_inverse and when invertible
  bool invertible = false;  // cholesky: always; symmetric: every eigenvalue above 1e-12 · max eigenvalue
  CovarianceRootKind kind = CovarianceRootKind::symmetric;  // the route taken (never automatic)
};

// R for `kind` (automatic counts as cholesky here), with R⁻¹ if `with_inverse` (the score
// form needs it). Formed once, it serves every evaluation at the same C (the FB solver's
// fixed input kernel C^(1)).
CovarianceFactor covariance_factor(const Eigen::Ref<const Eigen::MatrixXd>& C, CovarianceRootKind kind,
                                   bool with_inverse);
// Whether the cholesky route applies to C (every pivot above kCholeskyPivotFloor · max C_aa).
bool cholesky_factor_applies(const Eigen::Ref<const Eigen::MatrixXd>& C);

// The tensor product of the n-point probabilists' Gauss–Hermite rule in P dimensions
// (n^P points, weights summing to 1).
GaussianPoints tensor_gauss_hermite_points(Eigen::Index dimension, Eigen::Index nodes);

// The fixed base draws of layer l: S rows of P i.i.d. N(0, 1) from
// core::make_stream(seed, StreamPurpose::tilted_mc, 0, l), equal weights 1/S, split into
// kImportanceBatches consecutive batches. Reusing them in every solver iteration (common
// random numbers) makes the importance-sampling FB map deterministic and smooth in C.
// Throws ConfigError (theory.fb.importance_samples) if S < 2·kImportanceBatches.
GaussianPoints tilted_base_draws(std::uint64_t seed, Eigen::Index layer, Eigen::Index samples,
                                 Eigen::Index dimension);

// THEORY.md §4.3, linear φ, closed form: ⟨hhᵀ⟩_q = R(I − 2g RᵀC̃R)⁻¹Rᵀ (R Rᵀ = C, so any
// PSD C) and ∂𝒲/∂C = gC̃ + 2g² C̃⟨hhᵀ⟩_qC̃ (= gC̃(I − 2gCC̃)⁻¹). Errors are zero. Throws
// NumericalError if the tilt is too large for q to be normalisable (I − 2gRᵀC̃R not
// positive definite).
TiltedExpectations linear_tilted_expectations(double g, const Eigen::Ref<const Eigen::MatrixXd>& C,
                                              const Eigen::Ref<const Eigen::MatrixXd>& tilt);

// Whether the linear tilted measure is normalisable, I − 2gRᵀC̃R positive definite (the
// condition under which linear_tilted_expectations does not throw).
bool linear_tilt_normalisable(double g, const Eigen::Ref<const Eigen::MatrixXd>& C,
                              const Eigen::Ref<const Eigen::MatrixXd>& tilt);

// THEORY.md §4.4 item 2, first order in C̃:
//   ⟨φφᵀ⟩_q ≈ ⟨φφᵀ⟩_C + g Q[C̃],  Q[M]_ab = Σ_cd Cov_C(φ_aφ_b, φ_cφ_d) M_cd (ordered c, d),
//   ∂𝒲/∂C ≈ Jᵀ[C̃] = g[C̃ ∘ ⟨φ'φ'ᵀ⟩ + diag_c(Σ_b C̃_cb ⟨φ''_cφ_b⟩)]   (THEORY.md §3.4).
// Q is exact for linear (Isserlis) and erf (theory/four_point), 4-D Gauss–Hermite with
// `four_point_nodes` for tanh and ReLU. truncation_order = 2; the errors are zero for
// linear and erf and |g Q_n[C̃] − g Q_m[C̃]| (m = ⌈2n/3⌉) for tanh and ReLU.
// `pair_tolerance` is the accuracy of the tanh 2-point functions. Throws ConfigError for a
// non-linear φ with P > kMaxExactFirstOrderPoints.
TiltedExpectations first_order_tilted_expectations(core::Activation activation, double g,
                                                   const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                   const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                                   double pair_tolerance,
                                                   Eigen::Index four_point_nodes = kFirstOrderFourPointNodes);

// The estimator of the two numerical methods on a point set (rule or draws), with the
// control variate of THEORY.md §4.4 item 3: the exact untilted value plus the point set's
// (tilted − untilted) difference,
//   ⟨φφᵀ⟩_q ≈ ⟨φφᵀ⟩_exact + (Σ π̃_s φ_sφ_sᵀ − Σ π_s φ_sφ_sᵀ),   π̃ ∝ π e^{gφᵀC̃φ};
// the Price gradient uses Jᵀ[C̃] as the exact untilted value of its part linear in C̃.
// With exact_first_order, the point set's own first-order term Σ π_s f_s (F_s − F̄) is
// also subtracted and the exact one added (g Q[C̃] for ⟨φφᵀ⟩, Jᵀ[C̃] for the score form),
// so that the points only estimate the O(C̃²) remainder: the error of the points then
// enters at O(C̃²) instead of O(C̃). Throws ConfigError for exact_first_order with a
// non-linear φ and P > kMaxExactFirstOrderPoints.
struct PointEstimateOptions {
  TiltGradientForm gradient_form = TiltGradientForm::automatic;
  bool exact_first_order = true;
  double pair_tolerance = 1e-10;  // accuracy of the tanh 2-point functions (THEORY.md §2)
  bool gradient = true;           // false: ⟨φφᵀ⟩_q only, gradient returned as 0 (the FB solver
                                  // needs no C̃^(1), so no gradient on the input kernel)
  // Nodes of the 4-D rule for the exact first-order term of tanh and ReLU (not used by
  // linear and erf, whose 4-point functions are exact).
  Eigen::Index four_point_nodes = kFirstOrderFourPointNodes;
  // The factor R of h = R z (CovarianceRootKind).
  CovarianceRootKind root = CovarianceRootKind::automatic;
};

// THEORY.md §4.4 item 3: the n^P tensor rule (`nodes` per dimension, P ≤ kMaxQuadraturePoints,
// ConfigError otherwise). The error is |rule n − rule m| with m = ⌈2n/3⌉ (and the 4-D rule
// of the first-order term of tanh/ReLU coarsened the same way): for the geometric
// convergence of Gauss–Hermite on analytic integrands this bounds the error of the
// n-point rule. effective_sample_size is NaN.
TiltedExpectations quadrature_tilted_expectations(core::Activation activation, double g,
                                                  const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                  const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                                  Eigen::Index nodes,
                                                  const PointEstimateOptions& options);

// The coarser rule whose difference gives the quadrature error: ⌈2n/3⌉ nodes.
Eigen::Index coarse_quadrature_nodes(Eigen::Index nodes);

// THEORY.md §4.4 item 4: the base draws (tilted_base_draws) as the point set; the error is
// the standard error over its batches (plus, for tanh/ReLU with exact_first_order, the
// change of the first-order term on the coarse 4-D rule), and the Kish ESS of the weights
// is reported.
TiltedExpectations importance_sampling_tilted_expectations(core::Activation activation, double g,
                                                           const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                           const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                                           const GaussianPoints& draws,
                                                           const PointEstimateOptions& options);

// The estimator on any point set, without an error estimate (both errors zero,
// effective_sample_size the Kish ESS of the tilted weights relative to `points.weights`):
// the building block of the two functions above, exposed so that the FB solver can
// re-solve on a sub-set of the draws or on the coarse rule.
TiltedExpectations point_set_tilted_expectations(core::Activation activation, double g,
                                                 const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                 const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                                 const GaussianPoints& points,
                                                 const PointEstimateOptions& options);
// The same with C's factor formed beforehand (covariance_factor; options.root is then not
// used), with its inverse where the score form needs it (DataError otherwise, and when the
// sizes differ).
TiltedExpectations point_set_tilted_expectations(core::Activation activation, double g,
                                                 const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                 const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                                 const GaussianPoints& points,
                                                 const PointEstimateOptions& options,
                                                 const CovarianceFactor& factor);

// The rows [first, last) of a point set, weights renormalised to sum 1 (one IS batch; a
// subset of draws keeps batch_starts = {0, last − first}, so it stays draws for the
// automatic root).
GaussianPoints point_subset(const GaussianPoints& points, Eigen::Index first, Eigen::Index last);

}  // namespace kernelmc::theory
