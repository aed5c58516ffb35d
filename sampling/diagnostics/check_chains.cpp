#include "sampling/diagnostics/check_chains.hpp"

#include <limits>

#include "sampling/diagnostics/split_chains.hpp"

namespace kernelmc::sampling {

bool is_diagnosable(const Eigen::Ref<const Eigen::MatrixXd>& chains) {
  if (chains.cols() == 0 || chains.rows() < kMinDrawsPerChain) return false;
  if (!chains.allFinite()) return false;
  for (Eigen::Index c = 0; c < chains.cols(); ++c) {
    if (chains.col(c).maxCoeff() == chains.col(c).minCoeff()) return false;
  }
  return true;
}

std::optional<Eigen::MatrixXd> chains_to_diagnose(const Eigen::Ref<const Eigen::MatrixXd>& draws,
                                                  bool split) {
  Eigen::MatrixXd chains = split ? split_chains(draws) : Eigen::MatrixXd(draws);
  if (!is_diagnosable(chains)) return std::nullopt;
  return chains;
}

bool is_finite_and_nonconstant(const Eigen::Ref<const Eigen::MatrixXd>& draws) {
  if (draws.size() == 0 || !draws.allFinite()) return false;
  return draws.maxCoeff() - draws.minCoeff() >= std::numeric_limits<double>::epsilon();
}

}  // namespace kernelmc::sampling
