#pragma once
// The [validation] section of Config: the study of `kernelmc validate`.
// A plain aggregate (STYLE.md §5); each default lives in its field with its reason.
// validate() throws ConfigError naming `section.field`, its value and the rule.
#include <Eigen/Core>
#include <string>
#include <vector>

namespace kernelmc::core {

// [validation]: the width-scaling study of `kernelmc validate`.
struct ValidationSettings {
  // "width_scaling": the data set as given at every width. "proportional": at width N
  // and each α of `alphas`, the first P = round(αN) points of the data set (its pool).
  // "criticality": every width at each g = (g/g_c)·g_c(σ_b²) of the [criticality] grid.
  std::string study = "width_scaling";
  std::vector<double> alphas = {0.5};  // proportional: α = P/N (THEORY.md §4.8, §7)
  std::vector<Eigen::Index> widths = {32, 64, 128, 256};  // N; all hidden layers take the same N
  // Exact prior networks per width for E_prior[C], the reference of the measured adaptation
  // ΔC_MC = E_post[C] − E_prior[C]; its SE is ≈ √(Var C/M) with Var C = O(1/N).
  Eigen::Index prior_networks = 20000;
  Eigen::Index bootstrap_resamples = 1000;  // over chains, for the width-scaling CIs
  double confidence_level = 0.95;           // of the fitted exponents' intervals
  double false_alarm_rate = 0.01;           // family-wise α of the Bonferroni z and χ² tests
  bool figures = true;                      // render the gnuplot figures (PNG and SVG)
  bool operator==(const ValidationSettings&) const = default;
};

void validate(const ValidationSettings& settings);

}  // namespace kernelmc::core
