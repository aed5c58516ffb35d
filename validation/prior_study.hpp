#pragma once
// The prior study (`kernelmc prior`): for each width N, exact prior sampling of M
// networks and the analytic prior theory, compared layer by layer:
//   E_MC[C^(l)] against C_GP (NNGP) and against C_GP + μ (THEORY.md §3.4);
//   N·Cov_MC of the kernel entries against NΣ^(l) (THEORY.md §3.1, §3.4);
// with Monte Carlo errors, and the width scaling of each discrepancy.
#include <Eigen/Core>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "core/kernel_stack.hpp"
#include "validation/comparison.hpp"
#include "validation/observer.hpp"
#include "validation/width_scaling.hpp"

namespace kernelmc::validation {

// One layer l at one width N.
struct PriorLayerComparison {
  Eigen::Index layer = 0;               // l = 2..L+1
  Eigen::MatrixXd mean;                 // E_MC[C^(l)], P×P
  Eigen::MatrixXd mean_se;              // its Monte Carlo SE, √(Var/M)
  Eigen::MatrixXd scaled_covariance;    // N·Cov_MC over upper-triangle entries, K×K (empty if not tracked)
  Eigen::MatrixXd scaled_covariance_se; // jackknife SE over batches
  TheoryComparison mean_vs_nngp;         // E_MC − C_GP
  TheoryComparison mean_vs_corrected;    // E_MC − (C_GP + μ)
  ChiSquareTest chi_square_nngp;        // with the full covariance of the mean entries
  ChiSquareTest chi_square_corrected;
  TheoryComparison covariance_vs_theory; // N·Cov_MC − NΣ (when tracked)
  bool shift_predicted = false;         // μ^(l) ≠ 0 (the first hidden layer has μ = 0)
  double shift_ratio = 0.0;             // ⟨E_MC − C_GP, μ⟩/⟨μ, μ⟩: 1 if μ is the whole shift (if predicted)
  double shift_ratio_se = 0.0;
};

struct PriorWidthResult {
  Eigen::Index width = 0;   // N
  Eigen::Index networks = 0;
  double seconds = 0.0;     // wall time of the sampling
  std::vector<PriorLayerComparison> layers;
};

// Width scaling and verdicts of one layer across all widths.
struct PriorLayerScaling {
  Eigen::Index layer = 0;
  PowerLawFit nngp_mean;        // bias-corrected ‖E_MC − C_GP‖_F ∝ N^b, expected b = −1
  PowerLawFit corrected_mean;   // ‖E_MC − C_GP − μ‖_F, expected: zero within error, or b < −1
  PowerLawFit covariance;       // ‖N·Cov_MC − NΣ‖_F, expected b = −1 (the O(1/N) term)
  // N·Cov at the largest N is within 3 SE plus the O(1/N) term extrapolated from
  // the smaller widths: c/N_max with c the weighted mean of N·excess over N < N_max.
  bool covariance_consistent = false;
  double covariance_allowance = 0.0;  // 3 SE + c/N_max, in the units of ‖N·Cov‖_F
  bool shift_predicted = true;        // μ^(l) ≠ 0; false for the first hidden layer, where C_GP is exact
  bool nngp_slope_ok = false;         // |b + 1| ≤ 0.15 (only meaningful if shift_predicted)
  // C_GP + μ consistent with the MC mean (χ² p ≥ 0.001) at every width from this one up;
  // 0 if it is not consistent even at the largest width.
  Eigen::Index corrected_consistent_from = 0;
  bool corrected_consistent = false;  // consistent at every width
  bool corrected_faster = false;      // or its slope's upper 95 % limit below −1
  std::string verdict;                // one line a reader can quote
};

struct PriorStudyResult {
  core::Config config;
  std::string dataset_name;
  Eigen::Index points = 0;
  core::KernelStack nngp;                        // C_GP^(l)
  core::KernelStack scaled_mean_shift;           // Nμ^(l)
  std::vector<Eigen::MatrixXd> scaled_covariance;  // NΣ^(l) (K×K), index l − 1
  std::string four_point_method;                 // how the theory got its 4-point functions
  double theory_seconds = 0.0;
  std::vector<PriorWidthResult> widths;
  std::vector<PriorLayerScaling> scaling;       // one per layer l = 2..L+1
  bool covariance_tracked = true;
};

// Runs the study of config.prior on `data` (validated here). Throws ConfigError or
// DataError on bad input, NumericalError if a kernel is not positive semidefinite.
PriorStudyResult run_prior_study(const core::Config& config, const core::Dataset& data,
                                 Observer& observer);

}  // namespace kernelmc::validation
