#include "core/settings/theory.hpp"

#include <array>
#include <cmath>
#include <string>

#include "core/detail/settings_rules.hpp"

namespace kernelmc::core {

using namespace detail;

constexpr std::array<NamedValue<FourPointMethod>, 3> kFourPointMethodNames = {{
    {FourPointMethod::automatic, "automatic"},
    {FourPointMethod::quadrature, "quadrature"},
    {FourPointMethod::monte_carlo, "monte_carlo"}}};

std::string_view four_point_method_name(FourPointMethod method) {
  return name_in(kFourPointMethodNames, method);
}

FourPointMethod parse_four_point_method(std::string_view name, std::string_view field) {
  return parse_in(kFourPointMethodNames, name, field, "method");
}

void validate(const TheorySettings& settings) {
  if (!std::isfinite(settings.quadrature_tolerance) || settings.quadrature_tolerance <= 0.0 ||
      settings.quadrature_tolerance >= 1.0)
    fail("theory.quadrature_tolerance", number_text(settings.quadrature_tolerance),
         "must be > 0 and < 1");
  if (four_point_method_name(settings.four_point) == "unknown")
    fail("theory.four_point", std::to_string(static_cast<int>(settings.four_point)),
         "unknown method");
  require_positive("theory.four_point_nodes", settings.four_point_nodes);
  require_positive("theory.quadrature_max_points", settings.quadrature_max_points);
  // The Monte Carlo error estimate needs two draws.
  if (settings.four_point_samples < 2)
    fail("theory.four_point_samples", number_text(settings.four_point_samples),
         "must be at least 2");
}

}  // namespace kernelmc::core
