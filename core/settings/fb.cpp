#include "core/settings/fb.hpp"

#include <array>
#include <string>

#include "core/detail/settings_rules.hpp"

namespace kernelmc::core {

using namespace detail;

constexpr std::array<NamedValue<TiltMethod>, 5> kTiltMethodNames = {{
    {TiltMethod::automatic, "automatic"},
    {TiltMethod::linear_closed_form, "linear_closed_form"},
    {TiltMethod::first_order, "first_order"},
    {TiltMethod::quadrature, "quadrature"},
    {TiltMethod::importance_sampling, "importance_sampling"}}};

std::string_view tilt_method_name(TiltMethod method) { return name_in(kTiltMethodNames, method); }

TiltMethod parse_tilt_method(std::string_view name, std::string_view field) {
  return parse_in(kTiltMethodNames, name, field, "method");
}

constexpr std::array<NamedValue<TiltGradientForm>, 3> kTiltGradientFormNames = {{
    {TiltGradientForm::automatic, "automatic"},
    {TiltGradientForm::price, "price"},
    {TiltGradientForm::score, "score"}}};

std::string_view tilt_gradient_form_name(TiltGradientForm form) {
  return name_in(kTiltGradientFormNames, form);
}

TiltGradientForm parse_tilt_gradient_form(std::string_view name, std::string_view field) {
  return parse_in(kTiltGradientFormNames, name, field, "form");
}

void validate(const FbSettings& s) {
  if (tilt_method_name(s.method) == "unknown")
    fail("theory.fb.method", std::to_string(static_cast<int>(s.method)), "is not a TiltMethod");
  if (tilt_gradient_form_name(s.gradient_form) == "unknown")
    fail("theory.fb.gradient_form", std::to_string(static_cast<int>(s.gradient_form)),
         "is not a TiltGradientForm");
  if (!(s.damping > 0.0 && s.damping <= 1.0))
    fail("theory.fb.damping", number_text(s.damping), "must lie in (0, 1]");
  if (!(s.tolerance > 0.0 && s.tolerance < 1.0))
    fail("theory.fb.tolerance", number_text(s.tolerance), "must lie in (0, 1)");
  if (s.max_iterations < 1)
    fail("theory.fb.max_iterations", std::to_string(s.max_iterations), "must be a positive integer");
  if (s.importance_samples < 2 * kImportanceBatches)
    fail("theory.fb.importance_samples", number_text(s.importance_samples),
         "must be >= " + std::to_string(2 * kImportanceBatches) + " (" +
             std::to_string(kImportanceBatches) + " batches of at least 2 draws)");
  if (s.quadrature_nodes < 3 || s.quadrature_nodes > 64)
    fail("theory.fb.quadrature_nodes", number_text(s.quadrature_nodes),
         "must lie in 3..64 (the error estimate uses a coarse rule of ceil(2n/3) >= 2 nodes)");
  require_finite_positive("theory.fb.pair_tolerance", s.pair_tolerance);
}

}  // namespace kernelmc::core
