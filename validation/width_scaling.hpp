#pragma once
// Width scaling of a discrepancy: D(N) ≈ a·N^b, fitted by weighted least squares
// on log D against log N, and the scaling record of one (layer, theory, quantity) of a
// validation study.
#include <Eigen/Core>
#include <string>
#include <vector>

namespace kernelmc::validation {

struct PowerLawFit {
  double exponent = 0.0;       // b, the log-log slope
  double exponent_se = 0.0;    // its standard error
  double exponent_low = 0.0;   // 95 % confidence interval for b
  double exponent_high = 0.0;
  double amplitude = 0.0;      // a
  double reduced_chi_square = 0.0;  // residual χ²/(n − 2); > 1 widens the interval
  Eigen::Index points = 0;     // widths used (values > 0 with finite SE)
  bool valid() const { return points >= 3; }
};

// Weights 1/Var(log D) = (D/SE)². The slope SE comes from the weights, scaled by
// √(reduced χ²) when the points scatter more than their errors (Birge ratio), and the
// interval then uses Student's t with n − 2 degrees of freedom; otherwise the normal.
// Points with a value ≤ 0 or a non-finite SE are left out (unresolved from noise).
PowerLawFit fit_power_law(const std::vector<double>& widths, const std::vector<double>& values,
                          const std::vector<double>& standard_errors);

// Type-7 sample quantile of sorted values (NaN for none).
double quantile(const std::vector<double>& sorted, double p);

// One (layer, theory, quantity) of a validation study across the widths where it was
// compared (the gate passed and the theory's prediction succeeded).
struct TheoryScaling {
  Eigen::Index layer = 0;
  std::string theory;
  std::string quantity;
  std::vector<Eigen::Index> widths;  // the compared widths of this theory, increasing order of the study
  PowerLawFit fit;                   // excess discrepancy ∝ N^b over those widths
  double bootstrap_low = 0.0;        // percentile interval of b, bootstrap over chains
  double bootstrap_high = 0.0;
  Eigen::Index bootstrap_valid = 0;  // replicates with a valid fit
  Eigen::Index consistent_from = 0;  // smallest N from which every compared width is consistent; 0: none
  // Compared widths where the effect itself is not resolved: the NNGP's comparison of the same
  // layer and quantity is consistent (for the adaptation: ΔC is within MC error of 0), so no
  // finite-width theory can be told from the infinite-width one there.
  std::vector<Eigen::Index> unresolved_widths;
  std::string verdict;
};

}  // namespace kernelmc::validation
