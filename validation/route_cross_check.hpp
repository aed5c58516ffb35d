#pragma once
// `kernelmc validate` with posterior.cross_check: a second posterior route run beside the
// study's at every width, and the agreement of the two: per layer the largest |z| of the
// E_post[C^(l)] entries, z = (a − b)/√(se_a² + se_b²), against the Bonferroni threshold over
// all entries and layers at validation.false_alarm_rate, and, when the check route measures it
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
  double max_abs_z = 0.0;       // over the upper-triangle entries of E_post[C^(l)]
  double target_check = 0.0;    // N·ŷᵀΔCŷ of the check route (NaN for chains)
  double target_check_se = 0.0;
  double target_z = 0.0;        // (study − check)/√(se² + se²) of N·ŷᵀΔCŷ (NaN for chains)
};

struct CrossCheck {
  std::string route;            // the check route: importance, smc or chains
  double bonferroni_z = 0.0;    // threshold over all entries and layers of one width
  std::vector<CrossCheckRow> rows;
  bool consistent = true;       // every |z| within the threshold
};

// Runs config.posterior.cross_check (≠ none) at every width of `study` on `data`.
CrossCheck run_cross_check(const ValidationResult& study, const core::Dataset& data, Observer& observer);

// The agreement table printed after the study's table.
std::string format_cross_check(const ValidationResult& study, const CrossCheck& check);

// The same content as JSON: the route, the threshold, the verdict and one object per
// (width, layer) row (null where a value does not exist, e.g. N·ŷᵀΔCŷ of chains).
std::string cross_check_json(const CrossCheck& check);
// Writes cross_check.json into `directory` (atomically) and returns its path.
std::filesystem::path write_cross_check(const CrossCheck& check, const std::filesystem::path& directory);

}  // namespace kernelmc::validation
