#include "core/settings/validation.hpp"

#include <array>
#include <cmath>

#include "core/detail/settings_rules.hpp"

namespace kernelmc::core {

using namespace detail;

namespace {

constexpr std::array<std::string_view, 3> kValidationStudies = {"width_scaling", "proportional",
                                                                "criticality"};

}  // namespace

void validate(const ValidationSettings& s) {
  if (!is_one_of(s.study, kValidationStudies))
    fail("validation.study", quote_text(s.study),
         "unknown study (expected width_scaling, proportional or criticality)");
  if (s.alphas.empty()) fail("validation.alphas", "[]", "needs at least one value");
  for (double alpha : s.alphas) {
    if (!std::isfinite(alpha) || alpha <= 0.0)
      fail("validation.alphas", list_text(s.alphas), "every entry must be finite and > 0");
  }
  if (s.widths.empty()) fail("validation.widths", "[]", "needs at least one width");
  require_positive_entries("validation.widths", s.widths);
  if (s.prior_networks < 2)
    fail("validation.prior_networks", number_text(s.prior_networks), "must be at least 2");
  if (s.bootstrap_resamples < 2)
    fail("validation.bootstrap_resamples", number_text(s.bootstrap_resamples), "must be at least 2");
  if (!(s.confidence_level > 0.0 && s.confidence_level < 1.0))
    fail("validation.confidence_level", number_text(s.confidence_level), "must lie in (0, 1)");
  if (!(s.false_alarm_rate > 0.0 && s.false_alarm_rate < 1.0))
    fail("validation.false_alarm_rate", number_text(s.false_alarm_rate), "must lie in (0, 1)");
}

}  // namespace kernelmc::core
