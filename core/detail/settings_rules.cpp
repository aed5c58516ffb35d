#include "core/detail/settings_rules.hpp"

#include <cmath>

#include "core/csv.hpp"
#include "core/error.hpp"

namespace kernelmc::core::detail {

std::string number_text(double value) { return format_double(value); }
std::string number_text(Eigen::Index value) { return std::to_string(value); }

std::string quote_text(std::string_view text) {
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "\"" + std::string(...).
  std::string out = "\"";
  out += text;
  out += '"';
  return out;
}

void fail(std::string_view field, const std::string& value, std::string_view rule) {
  throw ConfigError(std::string(field) + " = " + value + ": " + std::string(rule));
}

void require_positive(std::string_view field, Eigen::Index value) {
  if (value < 1) fail(field, number_text(value), "must be a positive integer");
}

void require_positive_entries(std::string_view field, const std::vector<Eigen::Index>& values) {
  for (Eigen::Index value : values) {
    if (value < 1) fail(field, list_text(values), "every entry must be a positive integer");
  }
}

void require_finite_positive(std::string_view field, double value) {
  if (!std::isfinite(value) || value <= 0.0) fail(field, number_text(value), "must be finite and > 0");
}

void require_finite_non_negative(std::string_view field, double value) {
  if (!std::isfinite(value) || value < 0.0) fail(field, number_text(value), "must be finite and >= 0");
}

}  // namespace kernelmc::core::detail
