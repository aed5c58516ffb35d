#pragma once
// The report and figures of a study family (study_family.hpp) in an output directory:
//   study.json       provenance, per member and width the adaptation along the target per
//                    layer (measured, prior fluctuation N·Var⟨T, C⟩, each theory's prediction,
//                    z and full-matrix consistency), the proportional discrepancy fits, the
//                    verdicts;
//   study.csv        one row per member × width × layer × theory (no timings: identical
//                    records give a byte-identical file);
//   members/member_<m>/  each member's full validation report (validation_report.hpp);
//   figures/         gnuplot .dat + .gp, rendered to PNG and SVG when gnuplot is installed:
//     proportional_discrepancy  (proportional) the relative discrepancy along the target,
//         (measured − predicted)/predicted, against N (log axis) with error bars, one curve
//         per α and theory (FB solid, exact linear and one loop dashed), zero line;
//     criticality_adaptation_sb<i>  (criticality, σ_b² number i) N·⟨ΔC, T⟩ against g/g_c
//         (log axis), one colour per layer: Monte Carlo points with error bars, FB solid
//         and one loop dashed lines; second panel the prior fluctuation N·Var⟨T, C⟩.
#include <filesystem>
#include <string>
#include <vector>

#include "validation/study_family.hpp"

namespace kernelmc::validation {

std::string family_report_json(const FamilyResult& result);
std::string family_csv(const FamilyResult& result);

// The table for stdout: one line per member, width and layer, then the verdicts.
std::string format_family_table(const FamilyResult& result);

// Writes the figures (when validation.figures is on) and the report files, each
// atomically, into `directory`. Returns the scripts that were not rendered (no gnuplot).
std::vector<std::filesystem::path> write_family_report(const FamilyResult& result,
                                                       const std::filesystem::path& directory);

}  // namespace kernelmc::validation
