#include "validation/verdicts.hpp"

#include <sstream>

#include "validation/detail/report_json.hpp"

namespace kernelmc::validation {

namespace {

std::string two_decimals(double v) { return detail::printf_number("%.2f", v); }

// "slope b = −1.02 +- 0.20 (bootstrap [−1.4, −0.6])", or empty without a valid fit.
std::string slope_text(const TheoryScaling& s) {
  if (!s.fit.valid()) return {};
  std::string text = "slope b = " + two_decimals(s.fit.exponent) + " +- " + two_decimals(s.fit.exponent_se);
  if (s.bootstrap_valid > 0)
    text += " (bootstrap [" + two_decimals(s.bootstrap_low) + ", " + two_decimals(s.bootstrap_high) + "])";
  return text;
}

}  // namespace

std::string verdict_text(const TheoryScaling& s) {
  if (s.widths.empty()) return "not compared: no width passed the convergence gate";
  const std::string slope = slope_text(s);
  std::ostringstream v;
  if (s.consistent_from == s.widths.front()) {
    v << "consistent within MC error at every compared width (N >= " << s.widths.front() << ")";
  } else if (s.consistent_from > 0) {
    v << "consistent within MC error for N >= " << s.consistent_from;
    if (!slope.empty()) v << "; discrepancy " << slope;
  } else {
    v << "deviates at N = " << s.widths.back() << "; " << (slope.empty() ? "slope not resolved" : slope);
  }
  return v.str();
}

}  // namespace kernelmc::validation
