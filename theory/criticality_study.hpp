#pragma once
// Criticality study (THEORY.md §6): over a grid of g across the edge of chaos, for each
// bias variance σ_b², the mean-field quantities of the single-input length map (§6.1–6.2)
// next to the finite-width quantities of the model on the data, layer by layer:
//   - q*, χ_∥, χ_⊥ (theory/criticality) and the correlation lengths ξ = −1/ln χ (§6.1),
//     defined while 0 < χ < 1: ξ_∥ from χ_∥ (approach of q^(l) to q*), ξ_⊥ from χ_⊥ (the
//     ordered phase: approach of the correlation to c* = 1). In the chaotic phase
//     (χ_⊥ > 1) the fixed point c = 1 is unstable and ξ_⊥ is not defined.
//   - prior fluctuation growth with depth (§6.3): N·Var(C^(l)_aa) = NΣ^(l)_{aa,aa} and
//     the normalised N·v_l = NΣ^(l)_{aa,aa}/C_GP,aa^(l)², each averaged over the inputs a
//     (theory/prior_moments).
//   - adaptation by layer (§6.4): N‖δC^(l)‖_F/‖C_GP^(l)‖_F and N·tr(ŶᵀδC^(l)Ŷ), Ŷ = Y/‖Y‖_F
//     (N·ŷᵀδC^(l)ŷ for one output), δC^(l) = Σ^(l)[G^(l)] (theory/one_loop).
// Every "N·" quantity is the leading-order coefficient of an O(1/N) quantity when all
// hidden widths equal N, so it does not depend on N: the study evaluates the model at
// unit width, where V^(l) carries 1/N_{l−1} = 1. The grid sets g_l = g for every layer
// l = 1..L+1, the input layer included (as the §6.4 table does), and σ_b² for every layer.
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/dataset.hpp"
#include "core/model_spec.hpp"
#include "core/settings/theory.hpp"

namespace kernelmc::theory {

// The quantities of one layer l = 2..L+1 at one grid point. Standard errors are zero when
// the 4-point functions come from quadrature; with Monte Carlo they are the spread of the
// kFourPointBatches batch replicates (the fluctuation SEs are the mean of the entries'
// SEs, an upper bound on the SE of their average).
struct CriticalityLayer {
  Eigen::Index layer = 0;                      // l
  double kernel_diagonal = 0.0;                // mean_a C_GP,aa^(l), the kernel scale
  double scaled_diagonal_variance = 0.0;       // mean_a N Var(C^(l)_aa) = mean_a NΣ^(l)_{aa,aa}
  double scaled_diagonal_variance_se = 0.0;
  double scaled_normalized_variance = 0.0;     // N·v_l = mean_a NΣ^(l)_{aa,aa}/C_GP,aa^(l)² (§6.3)
  double scaled_normalized_variance_se = 0.0;
  double scaled_relative_adaptation = 0.0;     // N‖δC^(l)‖_F/‖C_GP^(l)‖_F (§6.4)
  double scaled_relative_adaptation_se = 0.0;
  double scaled_target_adaptation = 0.0;      // N·tr(ŶᵀδC^(l)Ŷ), Ŷ = Y/‖Y‖_F (§6.4 table)
  double scaled_target_adaptation_se = 0.0;
};

// One grid point (g, σ_b²).
struct CriticalityRow {
  double g = 0.0;                   // g_l for every layer
  double g_ratio = 0.0;             // g/g_c(σ_b²)
  double bias_variance = 0.0;       // σ_b²
  double q_star = 0.0;              // q* (+∞ above criticality for linear and ReLU)
  double chi_parallel = 0.0;        // χ_∥ at q*
  double chi_perpendicular = 0.0;   // χ_⊥ = χ₁ at q*
  double xi_parallel = 0.0;         // ξ_∥ = −1/ln χ_∥ if 0 < χ_∥ < 1, else NaN
  double xi_perpendicular = 0.0;    // ξ_⊥ = −1/ln χ_⊥ if 0 < χ_⊥ < 1, else NaN
  std::vector<CriticalityLayer> layers;  // l = 2..L+1, in order
  core::FourPointMethod method_used = core::FourPointMethod::quadrature;  // how V was computed
};

// −1/ln χ for 0 < χ < 1; NaN otherwise (THEORY.md §6.1).
double correlation_length(double chi);

// `points` values of g/g_c, log-spaced from `min_ratio` to `max_ratio` (both included;
// one point gives min_ratio). The caller has validated 0 < min_ratio ≤ max_ratio, points ≥ 1.
std::vector<double> log_spaced_ratios(double min_ratio, double max_ratio, Eigen::Index points);

// One grid point: `spec` with g_l = g for every layer and σ_b² = bias_variance (its widths
// are replaced by 1, see the file comment), on `data`. `g_ratio` is only recorded. 4-point
// functions as theory/prior_moments picks them (Monte Carlo streams from `seed`).
// Throws NumericalError when C_GP^(L+1) + κI is not positive definite.
CriticalityRow criticality_row(const core::ModelSpec& spec, const core::Dataset& data, double g, double g_ratio,
                               double bias_variance, const core::TheorySettings& settings, std::uint64_t seed);

struct CriticalityStudy {
  std::vector<double> edge_of_chaos;             // g_c(σ_b²), one per bias variance
  std::vector<std::vector<CriticalityRow>> rows;  // [bias variance][g], g increasing
};

// The whole grid: for each σ_b² in `bias_variances`, g = ratio·g_c(σ_b²) for each ratio.
// `spec` gives φ, L, d, D and κ. `progress(done, total)` (if set) is called after each row.
// Throws ConfigError when the spec is invalid or g_c is not finite for φ at σ_b²;
// DataError when the data do not fit the spec.
CriticalityStudy criticality_study(const core::ModelSpec& spec, const core::Dataset& data,
                                   const std::vector<double>& bias_variances, const std::vector<double>& g_ratios,
                                   const core::TheorySettings& settings, std::uint64_t seed,
                                   const std::function<void(Eigen::Index, Eigen::Index)>& progress = {});

}  // namespace kernelmc::theory
