#pragma once
// The [prior] section of Config: the exact prior study over widths.
// A plain aggregate (STYLE.md §5); each default lives in its field with its reason.
// validate() throws ConfigError naming `section.field`, its value and the rule.
#include <Eigen/Core>
#include <vector>

namespace kernelmc::core {

// [prior]: the exact prior study over widths (THEORY.md §3, §9.5).
struct PriorStudySettings {
  // Widths N of the study; all hidden layers take the same N.
  std::vector<Eigen::Index> widths = {16, 32, 64, 128, 256};
  // M networks per width. The relative SE of a variance estimate is ≈ √(2/M) for
  // near-Gaussian entries: 0.45 % at M = 10⁵, far inside the 3 % the study needs on N·Cov.
  // The mean shift μ = O(1/N) is the harder signal: its signal-to-noise ratio is
  // ≈ √(M/N)·|Nμ|/√(N Var C), so M = 10⁵ still resolves it at N = 256 and the log-log
  // slope of |E − C_GP| comes out to ±0.1 (measured: the default study).
  Eigen::Index networks = 100000;
  bool operator==(const PriorStudySettings&) const = default;
};

void validate(const PriorStudySettings& settings);

}  // namespace kernelmc::core
