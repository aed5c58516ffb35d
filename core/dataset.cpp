#include "core/dataset.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

namespace kernelmc::core {

namespace {
void check_finite(const Eigen::MatrixXd& m, const std::string& what, const std::string& name) {
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      if (!std::isfinite(m(i, j)))
        throw DataError(name + " " + what + " row " + std::to_string(i + 1) + ", column " +
                        std::to_string(j + 1) + ": " + std::to_string(m(i, j)) +
                        " is not a finite number");
    }
  }
}

// "<source> <what> = <columns> columns, but <field> = <expected>: they must be equal".
void check_columns(std::string_view source, std::string_view what, Eigen::Index columns,
                   std::string_view field, Eigen::Index expected) {
  if (columns != expected)
    throw DataError(std::string(source) + " " + std::string(what) + " = " + std::to_string(columns) +
                    " columns, but " + std::string(field) + " = " + std::to_string(expected) +
                    ": they must be equal");
}
}  // namespace

void validate(const Dataset& data) {
  const std::string name = data.name.empty() ? std::string("data") : data.name;
  if (data.inputs.rows() == 0 || data.inputs.cols() == 0)
    throw DataError(name + " inputs: empty (P = " + std::to_string(data.inputs.rows()) +
                    ", d = " + std::to_string(data.inputs.cols()) + "); need P >= 1 and d >= 1");
  if (data.targets.cols() == 0)
    throw DataError(name + " targets: no target column (D = 0)");
  if (data.targets.rows() != data.inputs.rows())
    throw DataError(name + ": targets have " + std::to_string(data.targets.rows()) +
                    " rows but inputs have " + std::to_string(data.inputs.rows()) +
                    "; they must match (P)");
  check_finite(data.inputs, "inputs", name);
  check_finite(data.targets, "targets", name);
}

void check_input_columns(const ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                         std::string_view source) {
  check_columns(source, "inputs: d", inputs.cols(), "model.input_dim", spec.input_dim);
}

void check_target_columns(const ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& targets,
                          std::string_view source) {
  check_columns(source, "targets: D", targets.cols(), "model.output_dim", spec.output_dim);
}

void check_fits(const Dataset& data, const ModelSpec& spec) {
  validate(spec);
  validate(data);
  check_input_columns(spec, data.inputs);
  check_target_columns(spec, data.targets);
}

Eigen::MatrixXd input_kernel(const Eigen::Ref<const Eigen::MatrixXd>& inputs, double g1,
                             double bias_variance) {
  const Eigen::Index P = inputs.rows();
  const double d = static_cast<double>(inputs.cols());
  // THEORY.md §1.3: C^(1) = (g_1/d) X Xᵀ + σ_b² 𝟏𝟏ᵀ, built as a rank update (STYLE.md §3).
  Eigen::MatrixXd C = Eigen::MatrixXd::Constant(P, P, bias_variance);
  C.selfadjointView<Eigen::Lower>().rankUpdate(inputs, g1 / d);
  C.triangularView<Eigen::StrictlyUpper>() = C.transpose();
  return C;
}

}  // namespace kernelmc::core
