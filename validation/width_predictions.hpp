#pragma once
// Every theory's prediction at one width of a validation study (THEORY.md §2, §4.3, §4.6,
// §4.7, §5.1, §7.2), each theory failing alone: a prediction whose solver throws
// kernelmc::NumericalError is recorded as a failure of that theory at that width, and the
// other theories are still predicted.
#include <Eigen/Core>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "validation/theory_comparison.hpp"

namespace kernelmc::validation {

// A theory that could not be predicted at one width.
struct TheoryFailure {
  std::string theory;  // "nngp", "one_loop", "fb", "exact_linear"
  std::string reason;  // the solver's message
};

struct WidthPredictions {
  // [l−2]: per layer, in this order where predicted: E_post[C] against C_GP ("nngp"),
  // C_GP + μ + δC ("one_loop"), C_FB + μ ("fb"), the exact §7.2 kernel ("exact_linear",
  // l = 2 only); then ΔC_MC against δC, C_FB − C_GP and the exact linear adaptation.
  std::vector<std::vector<Prediction>> layers;
  std::vector<TheoryFailure> failures;  // in the order above
  std::string fb_method;                // the FB solver's tilt method (empty if FB failed)
  double seconds = 0.0;
};

// The predictions at width N of config.model on `data`; `exact_linear`: also the exact
// kernel of a linear one-hidden-layer network with one output.
WidthPredictions width_predictions(const core::Config& config, const core::Dataset& data, Eigen::Index width,
                                   bool exact_linear);

}  // namespace kernelmc::validation
