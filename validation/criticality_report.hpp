#pragma once
// `kernelmc criticality` (THEORY.md §6): the criticality study for a config, and its
// reports: a terminal table, criticality.json (everything, with provenance),
// criticality.dat (a gnuplot data file) and criticality.gp (a script that plots it).
//
// criticality.dat: whitespace-separated, '#' comments; one block per σ_b² (in the order of
// criticality.bias_variances), blocks separated by two blank lines so that gnuplot's
// `index b` selects block b; one row per g, g increasing. Columns (1-based):
//   1 g   2 g/g_c   3 σ_b²   4 q*   5 χ_⊥   6 χ_∥   7 ξ_⊥   8 ξ_∥
// then for each layer l = 2..L+1 five columns starting at 9 + 5(l − 2):
//   C_GP,aa^(l) (mean over a), N·Var(C_aa^(l)), N·v_l, N‖δC^(l)‖_F/‖C_GP^(l)‖_F, N·ŷᵀδC^(l)ŷ
// and, only when some row used Monte Carlo 4-point functions, the standard errors of the
// four N-scaled columns of every layer after those (named in the header). Undefined
// values (ξ outside the ordered phase) are NaN, a diverging q* is Inf; gnuplot skips both.
// So `plot 'criticality.dat' index 0 using 2:5` is χ_⊥ against g/g_c at the first σ_b².
#include <filesystem>
#include <string>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "theory/criticality_study.hpp"
#include "validation/observer.hpp"

namespace kernelmc::validation {

struct CriticalityResult {
  core::Config config;        // as resolved
  std::string dataset_name;
  Eigen::Index points = 0;    // P
  Eigen::Index depth = 0;     // L
  std::vector<double> g_ratios;  // the grid of g/g_c
  theory::CriticalityStudy study;
  double seconds = 0.0;       // wall time of the study
};

// Validates `config`, resolves the model on `data` and runs theory::criticality_study over
// config.criticality (seed config.run.seed for Monte Carlo 4-point functions), reporting
// one progress unit per grid point. Throws ConfigError naming model.widths when the hidden
// widths differ (every "N·" column is the coefficient for one common width N).
CriticalityResult run_criticality_study(const core::Config& config, const core::Dataset& data, Observer& observer);

// The human-readable summary printed on stdout (columns explained in README.md).
std::string format_criticality_table(const CriticalityResult& result);
// Everything as JSON (with provenance: version, seed, resolved config); NaN/Inf → null.
std::string criticality_report_json(const CriticalityResult& result);
// criticality.dat (see the file comment).
std::string criticality_data_file(const CriticalityResult& result);
// criticality.gp: χ_⊥ and χ_∥, N·v_l and N·ŷᵀδC^(l)ŷ against g/g_c (log axis), one curve
// per layer and σ_b², rendered to criticality.png (pngcairo) when run with
// `gnuplot criticality.gp` in the directory of criticality.dat.
std::string criticality_gnuplot_script(const CriticalityResult& result);

// Writes criticality.json, criticality.dat and criticality.gp into `directory` (each
// atomically, only after the study has finished). Returns the .dat path.
std::filesystem::path write_criticality_report(const CriticalityResult& result,
                                               const std::filesystem::path& directory);

}  // namespace kernelmc::validation
