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
