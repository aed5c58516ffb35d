#include "core/settings/criticality.hpp"

#include <cmath>

#include "core/detail/settings_rules.hpp"

namespace kernelmc::core {

using namespace detail;

void validate(const CriticalitySettings& s) {
  require_finite_positive("criticality.g_min_ratio", s.g_min_ratio);
  require_finite_positive("criticality.g_max_ratio", s.g_max_ratio);
  if (s.g_max_ratio <= s.g_min_ratio)
    fail("criticality.g_max_ratio", number_text(s.g_max_ratio),
         "must exceed criticality.g_min_ratio = " + number_text(s.g_min_ratio));
  if (s.g_points < 2)
    fail("criticality.g_points", number_text(s.g_points), "must be at least 2 (a grid has two ends)");
  if (s.bias_variances.empty()) fail("criticality.bias_variances", "[]", "needs at least one value");
  for (double b : s.bias_variances) {
    if (!std::isfinite(b) || b < 0.0)
      fail("criticality.bias_variances", list_text(s.bias_variances), "every entry must be finite and >= 0");
  }
}

}  // namespace kernelmc::core
