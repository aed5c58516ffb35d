#include "validation/verdicts.hpp"

#include <algorithm>
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

// "32, 64": the unresolved widths from `from` on; empty if none.
std::string unresolved_from(const TheoryScaling& s, Eigen::Index from) {
  std::string text;
  for (const Eigen::Index n : s.unresolved_widths)
    if (n >= from) text += (text.empty() ? "" : ", ") + std::to_string(n);
  return text;
}

}  // namespace

std::string verdict_text(const TheoryScaling& s) {
  if (s.widths.empty()) return "not compared: no width passed the convergence gate";
  const std::string slope = slope_text(s);
  std::ostringstream v;
  // "Consistent" only where the effect is resolved: where the NNGP is not rejected either, the
  // data cannot tell this theory from it.
  const std::size_t unresolved_tail = static_cast<std::size_t>(std::count_if(
      s.unresolved_widths.begin(), s.unresolved_widths.end(), [&](Eigen::Index n) { return n >= s.consistent_from; }));
  const std::size_t consistent_tail = static_cast<std::size_t>(std::count_if(
      s.widths.begin(), s.widths.end(), [&](Eigen::Index n) { return n >= s.consistent_from; }));
  if (s.consistent_from > 0 && unresolved_tail == consistent_tail) {
    v << "not resolved for N >= " << s.consistent_from
      << ": the effect (the difference from the NNGP) is within MC error there";
    if (s.consistent_from != s.widths.front() && !slope.empty()) v << "; discrepancy " << slope;
    return v.str();
  }
  const std::string unresolved = s.consistent_from > 0 ? unresolved_from(s, s.consistent_from) : "";
  const std::string note = unresolved.empty() ? "" : " (the effect is not resolved at N = " + unresolved + ")";
  if (s.consistent_from == s.widths.front()) {
    v << "consistent within MC error at every compared width (N >= " << s.widths.front() << ")" << note;
  } else if (s.consistent_from > 0) {
    v << "consistent within MC error for N >= " << s.consistent_from << note;
    if (!slope.empty()) v << "; discrepancy " << slope;
  } else {
    v << "deviates at N = " << s.widths.back() << "; " << (slope.empty() ? "slope not resolved" : slope);
  }
  return v.str();
}

}  // namespace kernelmc::validation
