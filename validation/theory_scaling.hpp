#pragma once
// The width scaling of every (layer, theory, quantity) of a validation study: a power-law
// fit of the excess discrepancy over the widths where that theory was compared, with a
// percentile bootstrap interval of the slope over chains, and its verdict.
#include <map>
#include <vector>

#include "validation/validation_study.hpp"

namespace kernelmc::validation {

// The scalings of result.widths (comparisons found by theory and quantity name, so a theory
// that failed at some widths is fitted over the others). The bootstrap: replicate b
// resamples the C chains of each compared width with replacement (stream
// make_stream(seed, bootstrap, 0, b)) and refits every exponent; OpenMP over replicates,
// collected in replicate order.
std::vector<TheoryScaling> scale_theories(const ValidationResult& result,
                                          const std::map<Eigen::Index, WidthRecords>& records);

}  // namespace kernelmc::validation
