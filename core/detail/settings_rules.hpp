#pragma once
// The checks shared by the validate() functions of core/settings/: each throws
// ConfigError("<field> = <value>: <rule>"), with the value as it is written in TOML.
#include <Eigen/Core>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kernelmc::core::detail {

// A value as TOML text: shortest round-trip doubles, integers, lists, quoted strings.
std::string number_text(double value);
std::string number_text(Eigen::Index value);
std::string quote_text(std::string_view text);

template <class T>
std::string list_text(const std::vector<T>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += number_text(values[i]);
  }
  return out + "]";
}

[[noreturn]] void fail(std::string_view field, const std::string& value, std::string_view rule);

void require_positive(std::string_view field, Eigen::Index value);
void require_positive_entries(std::string_view field, const std::vector<Eigen::Index>& values);
void require_finite_positive(std::string_view field, double value);
void require_finite_non_negative(std::string_view field, double value);

template <std::size_t n>
bool is_one_of(std::string_view value, const std::array<std::string_view, n>& names) {
  for (std::string_view name : names) {
    if (value == name) return true;
  }
  return false;
}

// The one of `values` whose name_of(value) is `name`; otherwise ConfigError
// "<field> = \"<name>\": <rule>".
template <class E, std::size_t n>
E parse_named(std::string_view name, std::string_view field, const std::array<E, n>& values,
              std::string_view (*name_of)(E), std::string_view rule) {
  for (E value : values) {
    if (name == name_of(value)) return value;
  }
  fail(field, quote_text(name), rule);
}

}  // namespace kernelmc::core::detail
