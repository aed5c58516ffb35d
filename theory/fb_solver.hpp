#pragma once
// The MAP forward–backward (FB) kernels of all layers at once (THEORY.md §4.3, §4.5):
//   (F) C^(l) = σ_b² 𝟏𝟏ᵀ + g_l ⟨φφᵀ⟩_{q_l},  q_l(h) ∝ N(h; 0, C^(l−1)) e^{g_l φᵀC̃^(l)φ},  l = 2..L+1;
//   (B) C̃^(l) = (N_l/N_{l−1}) ∂𝒲_{l+1}(C̃^(l+1) | C^(l))/∂C^(l),  l = 2..L;
//       C̃^(L+1) = (A YYᵀA − D·A)/(2N_L),  A = (C^(L+1) + κI)⁻¹   (D outputs).
// With equal widths the width ratio is 1 and these are THEORY.md §4.3 verbatim; with
// unequal widths the action Σ_l N_{l−1}[−tr(C̃^(l)C^(l)) + 𝒲_l] + ℓ, whose layer-l term
// counts the N_{l−1} neurons averaged in C^(l), gives the ratio [D].
// The tilted expectations come from theory/tilted_expectations (THEORY.md §4.4).
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "core/dataset.hpp"
#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"
#include "theory/tilted_expectations.hpp"

namespace kernelmc::theory {

// [theory.fb]: how the FB equations are solved. A plain aggregate (STYLE.md §5);
// validate() below names `theory.fb.<field>`.
struct FbSettings {
  // How the tilted expectations are evaluated: automatic picks the linear closed form for
  // linear φ, quadrature for P ≤ kMaxQuadraturePoints (deterministic) and importance
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
};

// Throws ConfigError naming theory.fb.<field>, its value and the rule.
void validate(const FbSettings& settings);

struct FbSolution {
  core::KernelStack kernels;        // C_FB^(l), l = 1..L+1 (layer(1) = C^(1))
  core::KernelStack nngp;           // C_GP^(l), the starting point; ΔC = kernels − nngp
  core::KernelStack tilts;          // C̃^(l), l = 1..L+1 (layer(1) = 0: C^(1) is fixed)
  // Error estimate of each C_FB^(l), entrywise, absolute: 0 for the closed form and for
  // first order with linear or erf φ (the O(C̃²) truncation is flagged by truncation_order,
  // not included), |C_n − C_m| for quadrature, the batch standard error for importance
  // sampling, plus the 4-D rule's part for tanh/ReLU (see estimate_errors); 0 when
  // estimate_errors is off. layer(1) = 0.
  core::KernelStack kernel_errors;
  int iterations = 0;                       // sweeps (or Newton steps) of the final solve
  std::vector<double> residual_history;     // relative residual per sweep (or step), final solve
  // Kish ESS of the importance weights of layer l at the solution, at index l − 1
  // (l = 2..L+1); NaN for l = 1 and for the other methods.
  std::vector<double> effective_sample_size;
  TiltMethod method = TiltMethod::automatic;  // the method used (never automatic)
  int truncation_order = 0;                   // 2 for first_order, else 0
  std::vector<double> homotopy_steps;         // the λ solved in turn; empty if the plain solve converged
};

// Solves the FB equations for `spec` on `data` (THEORY.md §4.5): NNGP start, C̃ = 0;
// backward sweep from the current kernels, forward sweep with the tilted maps (each
// layer's measure q_{l+1}(C^(l), C̃^(l+1)) evaluated once per sweep serves (B) for C̃^(l)
// and (F) for C^(l+1)), damping, symmetrisation after every update; or Newton–Krylov.
// Throws ConfigError for bad settings or a method that does not fit the model (linear
// closed form with a non-linear φ, quadrature with P > 5, ...), DataError when the data
// do not fit the spec, NumericalError (with the residual history) when no solve converges,
// or when a kernel of the solution is not positive semidefinite (naming the layer).
FbSolution solve_fb(const core::ModelSpec& spec, const core::Dataset& data,
                    const FbSettings& settings = {});

}  // namespace kernelmc::theory
