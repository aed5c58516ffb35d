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
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"
#include "theory/tilted_expectations.hpp"

namespace kernelmc::theory {

// [theory.fb]: how the FB equations are solved (core/config.hpp; core::validate checks it).
using core::FbSettings;

// The automatic route's draw budget for importance sampling: S·P²·L (draws × P² × layers)
// at most this. Measured: S = 5000, P = 64, L = 3 (6.1e7) solves with error estimates in
// 6.5 s on the shared 2-core machine (load ≈ 4); S = 1e5 took 91 s without them. 4e7 gives
// S = 3255 there (≈ 4 s), the rest of the 30 s budget of a P = 64 run going to the 4-point
// functions.
inline constexpr double kImportanceSamplingBudget = 4e7;

// The settings a run solves with, and why. An explicit theory.fb.method is used with the
// settings exactly as given. automatic resolves to the linear closed form for linear φ,
// tensor quadrature for P ≤ kMaxQuadraturePoints, importance sampling beyond; for
// importance sampling it then turns exact_first_order off for a non-linear φ with
// P > kMaxExactFirstOrderPoints (solve_fb refuses it there) and for tanh and ReLU (whose
// first-order term needs a 4-D quadrature on every sweep), and caps the draws at
// max(50·kImportanceBatches, kImportanceSamplingBudget / (P² L)). The one place where the
// automatic FB route is decided (solve_fb takes its method from here).
struct FbRouteChoice {
  FbSettings settings;
  std::string reason;  // "FB: ..." in words, for the run's list of routes
};
FbRouteChoice choose_fb_route(const core::ModelSpec& spec, Eigen::Index P, const FbSettings& given);

struct FbSolution {
  core::KernelStack kernels;        // C_FB^(l), l = 1..L+1 (layer(1) = C^(1))
  core::KernelStack nngp;           // C_GP^(l), the starting point; ΔC = kernels − nngp
  core::KernelStack tilts;          // C̃^(l), l = 1..L+1 (layer(1) = 0: C^(1) is fixed)
  // Error estimate of each C_FB^(l), entrywise, absolute: 0 for the closed form and for
  // first order with linear or erf φ (the O(C̃²) truncation is flagged by truncation_order,
  // not included), |C_n − C_m| for quadrature, the batch standard error for importance
  // sampling (re-solves on each batch of the draws, warm-started at the solution and stopped
  // at 1e-4 of their first residual: kBatchResolveReduction in fb_solver.cpp), plus the 4-D
  // rule's part for tanh/ReLU (see estimate_errors); 0 when estimate_errors is off.
  // layer(1) = 0.
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
