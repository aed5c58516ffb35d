#pragma once
// Text for the error messages of theory/ (STYLE.md §4): "field = value: rule", numbers
// to three significant digits, and the residual history of a fixed-point solve.
// core::format_double is not used here: it prints the shortest round-trip text (up to 17
// digits), too long for a message.
#include <string>
#include <vector>

namespace kernelmc::theory::detail {

// A number in a message, to three significant digits ("%.3g": 0.1, 1e-10, 3.14).
std::string format_number(double value);

// Throws ConfigError("<field> = <value>: <rule>").
[[noreturn]] void config_fail(const std::string& field, const std::string& value,
                              const std::string& rule);

// The first five and the last ten residuals of a solve, comma-separated, with ", ..." for
// the ones left out between them: enough to see divergence or a stall. "(none)" if empty.
std::string residual_history_text(const std::vector<double>& history);

}  // namespace kernelmc::theory::detail
