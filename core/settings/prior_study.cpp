#include "core/settings/prior_study.hpp"

#include "core/detail/settings_rules.hpp"

namespace kernelmc::core {

using namespace detail;

void validate(const PriorStudySettings& settings) {
  if (settings.widths.empty()) fail("prior.widths", "[]", "needs at least one width");
  require_positive_entries("prior.widths", settings.widths);
  // A covariance estimate needs two networks.
  if (settings.networks < 2)
    fail("prior.networks", number_text(settings.networks), "must be at least 2");
}

}  // namespace kernelmc::core
