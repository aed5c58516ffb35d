#pragma once
// The [criticality] section of Config: the grid of `kernelmc criticality`.
// A plain aggregate (STYLE.md §5); each default lives in its field with its reason.
// validate() throws ConfigError naming `section.field`, its value and the rule.
#include <Eigen/Core>
#include <vector>

namespace kernelmc::core {

// [criticality]: the grid of `kernelmc criticality` (THEORY.md §6).
struct CriticalitySettings {
  // g/g_c(σ_b²) from g_min_ratio to g_max_ratio, g_points values spaced evenly in log g:
  // the edge of chaos (ratio 1) sits in the middle of the default grid on a log axis.
  double g_min_ratio = 0.5;
  double g_max_ratio = 2.0;
  Eigen::Index g_points = 31;
  // σ_b² values, one block of the grid each.
  std::vector<double> bias_variances = {0.0, 0.1};
  bool operator==(const CriticalitySettings&) const = default;
};

void validate(const CriticalitySettings& settings);

}  // namespace kernelmc::core
