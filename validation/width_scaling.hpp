#pragma once
// Width scaling of a discrepancy: D(N) ≈ a·N^b, fitted by weighted least squares
// on log D against log N.
#include <Eigen/Core>
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

}  // namespace kernelmc::validation
