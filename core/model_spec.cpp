#include "core/model_spec.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

namespace kernelmc::core {

ModelSpec uniform_model(Eigen::Index input_dim, Eigen::Index depth, Eigen::Index width,
                        Activation activation, double g, double bias_variance, double kappa) {
  ModelSpec spec;
  spec.input_dim = input_dim;
  spec.widths.assign(static_cast<std::size_t>(depth < 0 ? 0 : depth), width);
  spec.activation = activation;
  spec.weight_variances.assign(static_cast<std::size_t>(depth < 0 ? 0 : depth + 1), g);
  spec.bias_variance = bias_variance;
  spec.kappa = kappa;
  return spec;
}

ModelSpec with_uniform_width(ModelSpec spec, Eigen::Index width) {
  for (auto& n : spec.widths) n = width;
  return spec;
}

void validate(const ModelSpec& spec) {
  auto fail = [](const std::string& field, const std::string& value, const std::string& rule) {
    throw ConfigError(field + " = " + value + ": " + rule);
  };
  if (spec.input_dim < 1) fail("model.input_dim", std::to_string(spec.input_dim), "must be a positive integer");
  if (spec.widths.empty()) fail("model.depth", "0", "must be at least 1 hidden layer");
  for (std::size_t i = 0; i < spec.widths.size(); ++i) {
    if (spec.widths[i] < 1)
      fail("model.widths[" + std::to_string(i + 1) + "]", std::to_string(spec.widths[i]),
           "must be a positive integer");
  }
  if (spec.weight_variances.size() != spec.widths.size() + 1)
    fail("model.g", std::to_string(spec.weight_variances.size()) + " values",
         "needs one value per layer, L+1 = " + std::to_string(spec.widths.size() + 1));
  for (std::size_t i = 0; i < spec.weight_variances.size(); ++i) {
    const double g = spec.weight_variances[i];
    if (!std::isfinite(g) || g <= 0.0)
      fail("model.g[" + std::to_string(i + 1) + "]", std::to_string(g), "must be finite and > 0");
  }
  if (!std::isfinite(spec.bias_variance) || spec.bias_variance < 0.0)
    fail("model.bias_variance", std::to_string(spec.bias_variance), "must be finite and >= 0");
  if (!std::isfinite(spec.kappa) || spec.kappa <= 0.0)
    fail("model.kappa", std::to_string(spec.kappa), "must be finite and > 0");
  if (spec.output_dim < 1) fail("model.output_dim", std::to_string(spec.output_dim), "must be a positive integer");
}

}  // namespace kernelmc::core
