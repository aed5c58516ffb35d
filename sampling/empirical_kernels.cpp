#include "sampling/empirical_kernels.hpp"

#include <cassert>

namespace kernelmc::sampling {

void empirical_kernel(const Eigen::Ref<const Eigen::MatrixXd>& activations, double g,
                      double bias_variance, Eigen::Ref<Eigen::MatrixXd> kernel) {
  assert(kernel.rows() == activations.rows() && kernel.cols() == activations.rows());
  const double N = static_cast<double>(activations.cols());
  // THEORY.md §1.3: start from σ_b² 𝟏𝟏ᵀ, add (g/N) Φ Φᵀ into the lower triangle, mirror.
  kernel.setConstant(bias_variance);
  kernel.selfadjointView<Eigen::Lower>().rankUpdate(activations, g / N);
  kernel.triangularView<Eigen::StrictlyUpper>() = kernel.transpose();
}

Eigen::MatrixXd empirical_kernel(const Eigen::Ref<const Eigen::MatrixXd>& activations, double g,
                                 double bias_variance) {
  Eigen::MatrixXd kernel(activations.rows(), activations.rows());
  empirical_kernel(activations, g, bias_variance, kernel);
  return kernel;
}

}  // namespace kernelmc::sampling
