#include "theory/detail/messages.hpp"

#include <cstdio>

#include "core/error.hpp"

namespace kernelmc::theory::detail {

std::string format_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", value);
  return buffer;
}

void config_fail(const std::string& field, const std::string& value, const std::string& rule) {
  throw ConfigError(field + " = " + value + ": " + rule);
}

std::string residual_history_text(const std::vector<double>& history) {
  std::string out;
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (i >= 5 && i + 10 < history.size()) {
      if (i == 5) out += ", ...";
      continue;
    }
    out += (out.empty() ? "" : ", ") + format_number(history[i]);
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace kernelmc::theory::detail
