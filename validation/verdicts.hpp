#pragma once
// The one-line verdict of a theory's width scaling in a validation study: consistent with
// the Monte Carlo from which width on, and the slope of its excess discrepancy.
#include <string>

#include "validation/width_scaling.hpp"

namespace kernelmc::validation {

// From s.widths (the compared widths of that theory), s.consistent_from, s.fit and the
// bootstrap interval. "Consistent" only where the effect is resolved (s.unresolved_widths):
// where every width from consistent_from on is unresolved the verdict is "not resolved", and
// unresolved widths among consistent ones are named.
std::string verdict_text(const TheoryScaling& s);

}  // namespace kernelmc::validation
