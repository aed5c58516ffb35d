#include "validation/width_scaling.hpp"

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>

namespace kernelmc::validation {

PowerLawFit fit_power_law(const std::vector<double>& widths, const std::vector<double>& values,
                          const std::vector<double>& standard_errors) {
  std::vector<double> x, y, w;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    const double v = values[i];
    const double se = standard_errors[i];
    if (!(v > 0.0) || !std::isfinite(v) || !(se > 0.0) || !std::isfinite(se)) continue;
    x.push_back(std::log(widths[i]));
    y.push_back(std::log(v));
    w.push_back((v / se) * (v / se));  // Var(log D) ≈ (SE/D)², delta method
  }
  PowerLawFit fit;
  fit.points = static_cast<Eigen::Index>(x.size());
  if (fit.points < 3) {
    fit.exponent = fit.exponent_se = fit.exponent_low = fit.exponent_high = fit.amplitude =
        fit.reduced_chi_square = std::nan("");
    return fit;
  }
  double sw = 0, sx = 0, sy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sw += w[i];
    sx += w[i] * x[i];
    sy += w[i] * y[i];
  }
  const double xbar = sx / sw, ybar = sy / sw;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxx += w[i] * (x[i] - xbar) * (x[i] - xbar);
    sxy += w[i] * (x[i] - xbar) * (y[i] - ybar);
  }
  fit.exponent = sxy / sxx;
  const double intercept = ybar - fit.exponent * xbar;
  fit.amplitude = std::exp(intercept);
  double chi2 = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double r = y[i] - intercept - fit.exponent * x[i];
    chi2 += w[i] * r * r;
  }
  const double dof = static_cast<double>(x.size()) - 2.0;
  fit.reduced_chi_square = chi2 / dof;
  double quantile = 0.0;
  fit.exponent_se = std::sqrt(1.0 / sxx);
  if (fit.reduced_chi_square > 1.0) {
    fit.exponent_se *= std::sqrt(fit.reduced_chi_square);
    quantile = boost::math::quantile(boost::math::complement(boost::math::students_t(dof), 0.025));
  } else {
    quantile = boost::math::quantile(boost::math::complement(boost::math::normal(), 0.025));
  }
  fit.exponent_low = fit.exponent - quantile * fit.exponent_se;
  fit.exponent_high = fit.exponent + quantile * fit.exponent_se;
  return fit;
}

double quantile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double h = (static_cast<double>(sorted.size()) - 1.0) * p;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace kernelmc::validation
