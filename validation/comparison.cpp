#include "validation/comparison.hpp"

#include <cmath>
#include <limits>

namespace kernelmc::validation {

Eigen::MatrixXd z_scores(const Eigen::Ref<const Eigen::MatrixXd>& estimate,
                         const Eigen::Ref<const Eigen::MatrixXd>& prediction,
                         const Eigen::Ref<const Eigen::MatrixXd>& standard_error) {
  Eigen::MatrixXd z(estimate.rows(), estimate.cols());
  for (Eigen::Index j = 0; j < z.cols(); ++j) {
    for (Eigen::Index i = 0; i < z.rows(); ++i) {
      const double se = standard_error(i, j);
      z(i, j) = (se > 0.0 && std::isfinite(se)) ? (estimate(i, j) - prediction(i, j)) / se
                                                : std::numeric_limits<double>::quiet_NaN();
    }
  }
  return z;
}

}  // namespace kernelmc::validation
