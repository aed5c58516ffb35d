#include "sampling/replicated_kernel_estimate.hpp"

#include <cmath>
#include <limits>

namespace kernelmc::sampling {

namespace {

// Entrywise sd/√R of value(r) over the replicates.
Eigen::MatrixXd entrywise_error(Eigen::Index replicates, const std::function<Eigen::MatrixXd(Eigen::Index)>& value) {
  const Eigen::MatrixXd first = value(0);
  if (replicates < 2) return Eigen::MatrixXd::Constant(first.rows(), first.cols(), std::numeric_limits<double>::quiet_NaN());
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(first.rows(), first.cols());
  Eigen::MatrixXd sum_squares = sum;
  for (Eigen::Index r = 0; r < replicates; ++r) {
    const Eigen::MatrixXd x = r == 0 ? first : value(r);
    sum += x;
    sum_squares += x.cwiseProduct(x);
  }
  const double R = static_cast<double>(replicates);
  const Eigen::ArrayXXd mean = sum.array() / R;
  const Eigen::ArrayXXd variance = ((sum_squares.array() - R * mean.square()) / (R - 1.0)).max(0.0);
  return (variance / R).sqrt().matrix();
}

}  // namespace

double replicate_standard_error(const Eigen::Ref<const Eigen::VectorXd>& values) {
  const Eigen::Index R = values.size();
  if (R < 2) return std::numeric_limits<double>::quiet_NaN();
  const double mean = values.mean();
  const double variance = (values.array() - mean).square().sum() / static_cast<double>(R - 1);
  return std::sqrt(variance / static_cast<double>(R));
}

Eigen::MatrixXd ReplicatedKernelEstimate::adaptation(Eigen::Index layer) const {
  return posterior_mean.layer(layer) - prior_mean.layer(layer);
}

Eigen::MatrixXd ReplicatedKernelEstimate::posterior_error(Eigen::Index layer) const {
  return entrywise_error(replicates(), [&](Eigen::Index r) {
    return posterior_replicates[static_cast<std::size_t>(r)].layer(layer);
  });
}

Eigen::MatrixXd ReplicatedKernelEstimate::prior_error(Eigen::Index layer) const {
  return entrywise_error(replicates(), [&](Eigen::Index r) {
    return prior_replicates[static_cast<std::size_t>(r)].layer(layer);
  });
}

Eigen::MatrixXd ReplicatedKernelEstimate::adaptation_error(Eigen::Index layer) const {
  return entrywise_error(replicates(), [&](Eigen::Index r) {
    const auto i = static_cast<std::size_t>(r);
    return Eigen::MatrixXd(posterior_replicates[i].layer(layer) - prior_replicates[i].layer(layer));
  });
}

double ReplicatedKernelEstimate::adaptation_functional_error(
    Eigen::Index layer, const std::function<double(const Eigen::MatrixXd&)>& f) const {
  Eigen::VectorXd values(replicates());
  for (Eigen::Index r = 0; r < replicates(); ++r) {
    const auto i = static_cast<std::size_t>(r);
    values(r) = f(posterior_replicates[i].layer(layer) - prior_replicates[i].layer(layer));
  }
  return replicate_standard_error(values);
}

}  // namespace kernelmc::sampling
