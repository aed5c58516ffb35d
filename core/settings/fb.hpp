#pragma once
// The [theory.fb] section of Config: how the MAP forward–backward equations are solved
// (theory/fb_solver.hpp), with TiltMethod and TiltGradientForm.
// A plain aggregate (STYLE.md §5); each default lives in its field with its reason.
// validate() throws ConfigError naming `section.field`, its value and the rule.
#include <Eigen/Core>
#include <cstdint>
#include <string_view>

namespace kernelmc::core {

// How the tilted expectations of the FB equations are evaluated (THEORY.md §4.4 items 1–4;
// theory/tilted_expectations.hpp).
enum class TiltMethod {
  automatic,            // the FB solver's choice: linear_closed_form for linear φ, quadrature for
                        // P ≤ theory::kMaxQuadraturePoints (5), importance_sampling beyond
  linear_closed_form,   // φ linear only: ⟨hhᵀ⟩_q = C(I − 2gC̃C)⁻¹, ∂𝒲/∂C = gC̃(I − 2gCC̃)⁻¹; exact
  first_order,          // ⟨φφᵀ⟩ + g Q[C̃] and Jᵀ[C̃]; neglects O(C̃²) (the truncation is not in the error)
  quadrature,           // tensor Gauss–Hermite over all P inputs (P ≤ 5) with the control variate
  importance_sampling,  // fixed base draws h ~ N(0, C), weights ∝ e^{gφᵀC̃φ}, same control variate
};
// "automatic", "linear_closed_form", "first_order", "quadrature", "importance_sampling".
std::string_view tilt_method_name(TiltMethod method);
// Parses a name; throws ConfigError naming `field` and the value if it is unknown.
TiltMethod parse_tilt_method(std::string_view name, std::string_view field = "theory.fb.method");

// Which form of ∂𝒲/∂C the numerical methods (quadrature, importance sampling) evaluate.
enum class TiltGradientForm {
  automatic,  // score for ReLU (its φ'' is a δ function, which pointwise evaluation misses), Price otherwise
  price,      // needs φ'' pointwise; any positive semidefinite C
  score,      // needs C positive definite (NumericalError otherwise); no derivatives of φ
};
// "automatic", "price", "score".
std::string_view tilt_gradient_form_name(TiltGradientForm form);
TiltGradientForm parse_tilt_gradient_form(std::string_view name,
                                          std::string_view field = "theory.fb.gradient_form");

// Consecutive batches of the importance-sampling draws of the FB solver: each batch gives
// one replicate of an estimate, and their spread its standard error (SE of a 20-batch SE
// ≈ √(1/38) ≈ 16 %).
inline constexpr Eigen::Index kImportanceBatches = 20;

// [theory.fb]: how the MAP forward–backward equations are solved (theory/fb_solver.hpp).
struct FbSettings {
  // How the tilted expectations are evaluated: automatic picks the linear closed form for
  // linear φ, quadrature for P ≤ theory::kMaxQuadraturePoints (5, deterministic) and importance
  // sampling beyond.
  TiltMethod method = TiltMethod::automatic;
  // η of C ← (1 − η)C + η FB(C): THEORY.md §4.5 and §9.6 recommend 0.3–0.5.
  double damping = 0.5;
  // Stop when max_l max|FB(C)^(l) − C^(l)| ≤ tolerance · max_l max|C^(l)| (THEORY.md §4.5).
  // With common random numbers the importance-sampling map is deterministic, so this is
  // reachable for every method; the Monte Carlo error is reported separately.
  double tolerance = 1e-12;
  // Fixed-point sweeps (or Newton steps) per solve before it counts as failed. At
  // η = 0.5 a contracting map gains a factor ≈ 2 per sweep: 1e-12 takes ≈ 40–60 sweeps.
  int max_iterations = 500;
  // Jacobian-free Newton–Krylov (finite-difference Jv, GMRES) instead of the damped
  // fixed-point iteration (THEORY.md §4.5, optional).
  bool newton = false;
  // If the plain solve fails, ramp the targets Y → λY, λ ∈ (0, 1], each solve starting
  // from the previous λ's solution (THEORY.md §4.5, §9.6).
  bool homotopy = true;
  // S base draws per layer for importance sampling (THEORY.md §4.4 item 4). 1e5 puts the
  // Monte Carlo error of the O(C̃²) remainder (exact_first_order) far below 1e-6.
  Eigen::Index importance_samples = 100000;
  // Gauss–Hermite nodes per dimension of the tensor rule (n^P points). THEORY.md §4.4 item 3
  // quotes n = 12; with exact_first_order the rule only integrates the O(C̃²) remainder.
  Eigen::Index quadrature_nodes = 12;
  // Seed of the base draws: core::make_stream(seed, StreamPurpose::tilted_mc, 0, l).
  std::uint64_t seed = 0;
  // Form of ∂𝒲/∂C for quadrature and importance sampling (theory/tilted_expectations.hpp).
  TiltGradientForm gradient_form = TiltGradientForm::automatic;
  // Quadrature and importance sampling: add the exact first-order term and let the points
  // estimate only the O(C̃²) remainder (theory/tilted_expectations.hpp). Off gives the bare
  // control variate of THEORY.md §4.4 item 3, whose error enters at O(C̃). The term is
  // exact for linear and erf φ; for tanh and ReLU it comes from a 4-D Gauss–Hermite rule
  // whose error is included in kernel_errors and at large variances can exceed what the
  // term removes (tanh, C_aa = 2: 5e-4 against 3e-5 for false with 16 nodes).
  bool exact_first_order = true;
  // Absolute accuracy of the tanh 2-point functions (as theory.quadrature_tolerance).
  double pair_tolerance = 1e-10;
  // Also estimate the error of the solution by solving again: with the coarse rule
  // (⌈2n/3⌉ nodes; error |C_n − C_m|) for quadrature, on each of the kImportanceBatches
  // batches of the draws (error = their SD/√B) for importance sampling; for tanh and ReLU,
  // whose 4-point functions (first_order, exact_first_order) come from a 4-D rule, also
  // with that rule coarsened (28 → 19 nodes). About one more solve.
  bool estimate_errors = true;
  bool operator==(const FbSettings&) const = default;
};

void validate(const FbSettings& settings);

}  // namespace kernelmc::core
