#pragma once
// `kernelmc validate` with posterior.cross_check: a second posterior route run beside the
// study's at every width, and the agreement of the two: per layer the largest |z| of the
// E_post[C^(l)] entries, z = (a − b)/√(se_a² + se_b²), against the Bonferroni threshold over
// all entries and layers at validation.false_alarm_rate (Student t with each entry's Welch
// degrees of freedom), and, when the check route measures it
// (importance, SMC), the adaptation along the target N·ŷᵀΔCŷ of both with its z.
#include <Eigen/Core>
#include <filesystem>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "validation/observer.hpp"
#include "validation/validation_study.hpp"

namespace kernelmc::validation {

struct CrossCheckRow {
  Eigen::Index width = 0;
  Eigen::Index layer = 0;
  double max_abs_z = 0.0;       // |z| of the entry with the largest max_threshold_ratio
  // max over the upper-triangle entries of E_post[C^(l)] of |z| / its threshold: the
  // Student-t quantile at the Bonferroni level for the entry's Welch–Satterthwaite dof (the
  // SEs come from batch means or a few replicates, so a normal threshold would be too low).
  double max_threshold_ratio = 0.0;
  double target_check = 0.0;    // N·ŷᵀΔCŷ of the check route (NaN for chains)
  double target_check_se = 0.0;
  double target_z = 0.0;        // (study − check)/√(se² + se²) of N·ŷᵀΔCŷ (NaN for chains)
};

struct CrossCheck {
  std::string route;            // the check route: importance, smc or chains
  double bonferroni_z = 0.0;    // the normal threshold over all entries and layers of one width (infinite dof)
  std::vector<CrossCheckRow> rows;
  bool consistent = true;       // every |z| within the threshold
};

// Runs config.posterior.cross_check (≠ none) at every width of `study` on `data`.
CrossCheck run_cross_check(const ValidationResult& study, const core::Dataset& data, Observer& observer);

// The two-sided Student-t quantile at level alpha for the Welch–Satterthwaite dof of a
// difference of means with SEs a, b on dof_a, dof_b degrees of freedom (normal if a dof ≤ 0).
double welch_t_threshold(double a, Eigen::Index dof_a, double b, Eigen::Index dof_b, double alpha);

// The agreement table printed after the study's table.
std::string format_cross_check(const ValidationResult& study, const CrossCheck& check);

// The same content as JSON: the route, the threshold, the verdict and one object per
// (width, layer) row (null where a value does not exist, e.g. N·ŷᵀΔCŷ of chains).
std::string cross_check_json(const CrossCheck& check);
// Writes cross_check.json into `directory` (atomically) and returns its path.
std::filesystem::path write_cross_check(const CrossCheck& check, const std::filesystem::path& directory);

}  // namespace kernelmc::validation
