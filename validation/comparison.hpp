#pragma once
// Discrepancies between a Monte Carlo estimate and a prediction, with z-scores.
#include <Eigen/Core>

namespace kernelmc::validation {

// z = (estimate − prediction) / se, entrywise; NaN where se is 0 or not finite.
Eigen::MatrixXd z_scores(const Eigen::Ref<const Eigen::MatrixXd>& estimate,
                         const Eigen::Ref<const Eigen::MatrixXd>& prediction,
                         const Eigen::Ref<const Eigen::MatrixXd>& standard_error);

}  // namespace kernelmc::validation
