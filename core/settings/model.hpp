#pragma once
// The [model] section of Config: the architecture of THEORY.md §1.2, and its
// resolution into a ModelSpec.
// A plain aggregate (STYLE.md §5); each default lives in its field with its reason.
// validate() throws ConfigError naming `section.field`, its value and the rule.
#include <Eigen/Core>
#include <vector>

#include "core/activation.hpp"
#include "core/model_spec.hpp"

namespace kernelmc::core {

// [model]: the architecture of THEORY.md §1.2 (d and D come from the data set).
struct ModelSettings {
  Eigen::Index depth = 3;                  // L, hidden layers
  std::vector<Eigen::Index> widths = {64}; // N; one value for all hidden layers, or L values
  Activation activation = Activation::erf; // φ
  // g; one value for all L+1 layers, or L+1 values. π/4 is the erf edge of chaos at
  // σ_b² = 0 (THEORY.md §6.2), the regime where finite-width effects are largest.
  std::vector<double> g = {0.78539816339744831};
  double bias_variance = 0.0;              // σ_b²
  double kappa = 1.0;                      // κ, likelihood variance (THEORY.md §8.1 uses 1)
  bool operator==(const ModelSettings&) const = default;
};

void validate(const ModelSettings& settings);

// The ModelSpec for `settings` on data of dimension d with D outputs (widths and g
// broadcast to every layer when one value is given). Validates the result.
ModelSpec resolve_model(const ModelSettings& settings, Eigen::Index input_dim,
                        Eigen::Index output_dim);

}  // namespace kernelmc::core
