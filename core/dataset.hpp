#pragma once
// A training set: inputs X (P×d, rows x_α) and targets Y (P×D), THEORY.md §1.1.
#include <Eigen/Core>
#include <string>
#include <string_view>

#include "core/model_spec.hpp"

namespace kernelmc::core {

struct Dataset {
  Eigen::MatrixXd inputs;   // X, P×d
  Eigen::MatrixXd targets;  // Y, P×D (D = 1 for a scalar target y)
  std::string name;         // "xor", "config_a", "csv:<path>", ...

  Eigen::Index size() const { return inputs.rows(); }          // P
  Eigen::Index input_dim() const { return inputs.cols(); }     // d
  Eigen::Index output_dim() const { return targets.cols(); }   // D
};

// Throws DataError if X or Y has a non-finite entry (naming row and column), if the
// row counts differ, or if P, d or D is zero.
void validate(const Dataset& data);

// Throws DataError unless X (P×d) has d = spec.input_dim columns, naming both:
// "<source> inputs: d = 2 columns, but model.input_dim = 3: they must be equal".
void check_input_columns(const ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                         std::string_view source = "data");

// Throws DataError unless Y (P×D) has D = spec.output_dim columns, naming both:
// "<source> targets: D = 2 columns, but model.output_dim = 1: they must be equal".
void check_target_columns(const ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& targets,
                          std::string_view source = "data");

// The data fits the model: validate(spec) (ConfigError), validate(data), then the input and
// target column counts against model.input_dim and model.output_dim (DataError).
void check_fits(const Dataset& data, const ModelSpec& spec);

// The input kernel C^(1) = (g_1/d) X Xᵀ + σ_b² 𝟏𝟏ᵀ of THEORY.md §1.3.
Eigen::MatrixXd input_kernel(const Eigen::Ref<const Eigen::MatrixXd>& inputs, double g1,
                             double bias_variance);

}  // namespace kernelmc::core
