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

// An enum value and its name in TOML.
template <class E>
struct NamedValue {
  E value;
  std::string_view name;
};

// The name of `value` in `table`, "unknown" for a value outside it (forged by a cast).
template <class E, std::size_t n>
std::string_view name_in(const std::array<NamedValue<E>, n>& table, E value) {
  for (const NamedValue<E>& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "unknown";
}

// The value named `name` in `table`; otherwise ConfigError
// "<field> = \"<name>\": unknown <noun> (expected a, b or c)".
template <class E, std::size_t n>
E parse_in(const std::array<NamedValue<E>, n>& table, std::string_view name, std::string_view field,
           std::string_view noun) {
  std::string expected;
  for (std::size_t i = 0; i < n; ++i) {
    if (table[i].name == name) return table[i].value;
    expected += std::string(i == 0 ? "" : i + 1 == n ? " or " : ", ") + std::string(table[i].name);
  }
  fail(field, quote_text(name), "unknown " + std::string(noun) + " (expected " + expected + ")");
}

}  // namespace kernelmc::core::detail
