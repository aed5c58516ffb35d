#pragma once
// Health checks specific to Hamiltonian samplers, reported next to R̂ and ESS:
//   - E-BFMI, the energy Bayesian fraction of missing information (Betancourt 2016,
//     "Diagnosing suboptimal cotangent disintegrations in Hamiltonian Monte Carlo",
//     arXiv:1604.00695, eq. 4 and §4.2): how well the momentum resampling explores the
//     energy distribution. Below kLowEBfmi the chain explores the tails poorly;
//   - divergent transitions (stan-dev/stan base_nuts.hpp: a non-finite energy, or an
//     energy error above 1000, ends the trajectory as a divergence).
#include <Eigen/Core>
#include <vector>

namespace kernelmc::sampling {

// Stan's and ArviZ's warning level for E-BFMI (Betancourt 2016, §6.1 "values below
// 0.3 have proven problematic").
inline constexpr double kLowEBfmi = 0.3;

// Ê-BFMI of one chain from its per-draw Hamiltonian energies E_1..E_n (in draw order):
//   Σ_{i=2}^{n} (E_i − E_{i−1})² / Σ_{i=1}^{n} (E_i − Ē)².
// NaN, never a throw, for fewer than kMinDrawsPerChain energies, a non-finite energy
// or constant energies.
double e_bfmi(const Eigen::Ref<const Eigen::VectorXd>& energies);

// e_bfmi of every column of a draws × chains matrix of energies.
Eigen::VectorXd e_bfmi_per_chain(const Eigen::Ref<const Eigen::MatrixXd>& energies);

// Number of divergent transitions in each column of a draws × chains matrix of 0/1
// indicators (Stan's divergent__ column). Throws DataError naming the draw, the chain and
// the value for an entry that is neither 0 nor 1.
std::vector<Eigen::Index> count_divergences(const Eigen::Ref<const Eigen::MatrixXd>& divergent);

// Both checks of a run, per chain.
struct HmcHealth {
  Eigen::VectorXd e_bfmi;                 // Ê-BFMI per chain (NaN when degenerate)
  std::vector<Eigen::Index> divergences;  // divergent transitions per chain
  Eigen::Index draws_per_chain = 0;

  Eigen::Index total_divergences() const;
  // True if any chain's E-BFMI is below kLowEBfmi or NaN (never silently healthy).
  bool has_low_e_bfmi() const;
};

// energies and divergent: draws × chains, the same shape (DataError otherwise).
HmcHealth hmc_health(const Eigen::Ref<const Eigen::MatrixXd>& energies,
                     const Eigen::Ref<const Eigen::MatrixXd>& divergent);

}  // namespace kernelmc::sampling
