#include "core/settings/model.hpp"

#include <cmath>
#include <string>

#include "core/detail/settings_rules.hpp"

namespace kernelmc::core {

using namespace detail;

void validate(const ModelSettings& settings) {
  require_positive("model.depth", settings.depth);
  const auto L = static_cast<std::size_t>(settings.depth);
  if (settings.widths.size() != 1 && settings.widths.size() != L)
    fail("model.widths", list_text(settings.widths),
         "needs 1 value or L = " + std::to_string(L) + " values (one per hidden layer)");
  require_positive_entries("model.widths", settings.widths);
  // Activation is an enum: any value that exists is valid, but a cast can forge one.
  if (activation_name(settings.activation) == "unknown")
    fail("model.activation", std::to_string(static_cast<int>(settings.activation)),
         "unknown activation");
  if (settings.g.size() != 1 && settings.g.size() != L + 1)
    fail("model.g", list_text(settings.g),
         "needs 1 value or L+1 = " + std::to_string(L + 1) + " values (one per layer)");
  for (double g : settings.g) {
    if (!std::isfinite(g) || g <= 0.0)
      fail("model.g", list_text(settings.g), "every entry must be finite and > 0");
  }
  require_finite_non_negative("model.bias_variance", settings.bias_variance);
  require_finite_positive("model.kappa", settings.kappa);
}

ModelSpec resolve_model(const ModelSettings& settings, Eigen::Index input_dim,
                        Eigen::Index output_dim) {
  validate(settings);
  const auto L = static_cast<std::size_t>(settings.depth);
  ModelSpec spec;
  spec.input_dim = input_dim;
  spec.widths = settings.widths.size() == 1 ? std::vector<Eigen::Index>(L, settings.widths[0])
                                            : settings.widths;
  spec.activation = settings.activation;
  spec.weight_variances =
      settings.g.size() == 1 ? std::vector<double>(L + 1, settings.g[0]) : settings.g;
  spec.bias_variance = settings.bias_variance;
  spec.kappa = settings.kappa;
  spec.output_dim = output_dim;
  validate(spec);
  return spec;
}

}  // namespace kernelmc::core
