#include "sampling/diagnostics/hmc_health.hpp"

#include <cmath>
#include <numeric>
#include <sstream>

#include "core/error.hpp"
#include "sampling/diagnostics/check_chains.hpp"

namespace kernelmc::sampling {

// Betancourt (2016), eq. 4 estimated from one chain.
double e_bfmi(const Eigen::Ref<const Eigen::VectorXd>& energies) {
  if (!is_diagnosable(energies)) return kNoDiagnostic;
  const Eigen::Index n = energies.size();
  const double squared_steps = (energies.tail(n - 1) - energies.head(n - 1)).squaredNorm();
  const double squared_deviations = (energies.array() - energies.mean()).square().sum();
  return squared_steps / squared_deviations;
}

Eigen::VectorXd e_bfmi_per_chain(const Eigen::Ref<const Eigen::MatrixXd>& energies) {
  Eigen::VectorXd result(energies.cols());
  for (Eigen::Index c = 0; c < energies.cols(); ++c) result(c) = e_bfmi(energies.col(c));
  return result;
}

std::vector<Eigen::Index> count_divergences(const Eigen::Ref<const Eigen::MatrixXd>& divergent) {
  std::vector<Eigen::Index> counts(static_cast<std::size_t>(divergent.cols()), 0);
  for (Eigen::Index c = 0; c < divergent.cols(); ++c) {
    for (Eigen::Index i = 0; i < divergent.rows(); ++i) {
      const double flag = divergent(i, c);
      if (flag != 0.0 && flag != 1.0) {
        std::ostringstream message;
        message << "divergent indicator at draw " << i << ", chain " << c << " = " << flag
                << ": must be 0 or 1";
        throw DataError(message.str());
      }
      counts[static_cast<std::size_t>(c)] += flag == 1.0 ? 1 : 0;
    }
  }
  return counts;
}

Eigen::Index HmcHealth::total_divergences() const {
  return std::accumulate(divergences.begin(), divergences.end(), Eigen::Index{0});
}

bool HmcHealth::has_low_e_bfmi() const {
  // A NaN compares false, so count the chains that are provably healthy instead.
  return (e_bfmi.array() >= kLowEBfmi).count() != e_bfmi.size();
}

HmcHealth hmc_health(const Eigen::Ref<const Eigen::MatrixXd>& energies,
                     const Eigen::Ref<const Eigen::MatrixXd>& divergent) {
  if (energies.rows() != divergent.rows() || energies.cols() != divergent.cols()) {
    std::ostringstream message;
    message << "hmc_health: divergent indicators are " << divergent.rows() << " × "
            << divergent.cols() << ", energies " << energies.rows() << " × " << energies.cols()
            << ": must have the same shape (draws × chains)";
    throw DataError(message.str());
  }
  return HmcHealth{.e_bfmi = e_bfmi_per_chain(energies),
                   .divergences = count_divergences(divergent),
                   .draws_per_chain = energies.rows()};
}

}  // namespace kernelmc::sampling
