#pragma once
// The figures of `kernelmc validate` and `kernelmc merge`, drawn from a ValidationResult
// (validation/validation_study.hpp) with gnuplot. Each figure is a whitespace data file
// (.dat: '#' comments name the columns; blocks separated by two blank lines, so gnuplot's
// `index b` selects block b), a gnuplot script (.gp, run in the figures directory) and,
// when `gnuplot` is on PATH, the rendered <name>.png (pngcairo) and <name>.svg (svg).
//
//   kernel_heatmap_layer<l>  (one per layer l = 2..L+1; only when some width passed the
//       convergence gate) at the largest such width N: three P×P matrices, each a block
//       with row i, column j = entry (i, j): index 0 the Monte Carlo E_post[C^(l)],
//       index 1 the prediction of the theory with the smallest Frobenius discrepancy from
//       it (C_GP, C_GP + μ + δC, C_FB + μ or the exact linear kernel; THEORY.md §4.7,
//       §5.1, §7.2), index 2 the per-entry z-scores (E_post − prediction)/SE.
//   discrepancy_vs_width  (only when some width passed the gate): one block per layer
//       and quantity (E_post[C] against the theories, then ΔC_MC against the predicted
//       adaptations), one row per compared width: 1 N, then per theory eight columns
//       relative D/‖ref‖_F, its SE, relative excess √max(D² − noise², 0)/‖ref‖_F, the
//       width-scaling fit a·N^b of the excess over ‖ref‖_F, then D, SE(D), the excess and
//       the fit unscaled (TheoryComparison, TheoryScaling). ‖ref‖_F = D / relative (C_GP
//       for means, the one-loop δC for the adaptation at that N); the fit is NaN when it
//       is not valid (fewer than 3 resolved widths).
//   target_adaptation_vs_width: one block per layer, one row per width (increasing):
//       1 N, 2 gate passed (1/0), 3 N·⟨ΔC_MC, YYᵀ⟩/‖Y‖²_F measured (N·ŷᵀΔCŷ for one
//       output, THEORY.md §6.4), 4 its SE, then each theory's predicted value (NaN where
//       the width was not compared).
// Numbers are written with full round-trip precision (NaN where undefined).
#include <filesystem>
#include <vector>

#include "validation/validation_study.hpp"

namespace kernelmc::validation {

// Writes the figures of `result` into `directory`/figures (created if needed; each
// .dat/.gp atomically) and, when gnuplot is on PATH, renders each script there (a
// non-zero gnuplot exit throws kernelmc::Error naming the script and gnuplot's stderr,
// and leaves no image of that script behind). Returns the scripts that were NOT rendered
// (every script when gnuplot is absent, none otherwise), for the caller to report.
std::vector<std::filesystem::path> write_validation_figures(const ValidationResult& result,
                                                            const std::filesystem::path& directory);

}  // namespace kernelmc::validation
