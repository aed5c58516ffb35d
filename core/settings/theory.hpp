#pragma once
// The [theory] section of Config: accuracy of the analytic side, and FourPointMethod.
// A plain aggregate (STYLE.md §5); each default lives in its field with its reason.
// validate() throws ConfigError naming `section.field`, its value and the rule.
#include <Eigen/Core>
#include <string_view>

namespace kernelmc::core {

enum class FourPointMethod { automatic, quadrature, monte_carlo };
// "automatic", "quadrature", "monte_carlo".
std::string_view four_point_method_name(FourPointMethod method);
// Parses a name; throws ConfigError naming `field` and the value if it is unknown.
FourPointMethod parse_four_point_method(std::string_view name,
                                        std::string_view field = "theory.four_point");

// [theory]: accuracy of the analytic side.
struct TheorySettings {
  // Target absolute accuracy of 2-D Gauss–Hermite pair maps; the node count is chosen
  // for it (THEORY.md §2: n ≈ 60–80 gives ≤ 1e-8 for tanh/erf).
  double quadrature_tolerance = 1e-10;
  // How ⟨φ_aφ_bφ_cφ_d⟩ is computed for V (THEORY.md §3.1, §9.2): automatic uses
  // quadrature while P ≤ quadrature_max_points, Monte Carlo beyond.
  FourPointMethod four_point = FourPointMethod::automatic;
  // Nodes per dimension of the 4-D rule. THEORY.md §2: n = 28 gives ≈ 0.05 % per entry.
  Eigen::Index four_point_nodes = 28;
  Eigen::Index quadrature_max_points = 12;
  // Draws for Monte Carlo 4-point functions; error ≈ 1e-3 relative at 1e6.
  Eigen::Index four_point_samples = 1000000;
  bool operator==(const TheorySettings&) const = default;
};

void validate(const TheorySettings& settings);

}  // namespace kernelmc::core
