#include "theory/one_loop_route.hpp"

#include "theory/detail/messages.hpp"
#include "theory/four_point.hpp"
#include "theory/prior_covariance.hpp"

namespace kernelmc::theory {

using detail::format_number;

OneLoopRouteChoice choose_one_loop_route(const core::ModelSpec& spec, const core::KernelStack& nngp,
                                         const core::TheorySettings& settings, bool exact_beyond_quadrature_points) {
  OneLoopRouteChoice c;
  c.settings = settings;
  const Eigen::Index n = nngp.layer(1).rows();
  const double K = static_cast<double>(core::triangle_size(n));
  const bool exact_four_point =
      spec.activation == core::Activation::erf || spec.activation == core::Activation::linear;
  const bool explicit_fits = K * K <= kMaxExplicitCovarianceEntries;
  if (exact_beyond_quadrature_points && settings.four_point == core::FourPointMethod::automatic && exact_four_point &&
      explicit_fits && n > settings.quadrature_max_points) {
    c.settings.four_point = core::FourPointMethod::quadrature;
    c.reasons.push_back("4-point functions: exact closed form (automatic: " +
                        std::string(core::activation_name(spec.activation)) + " with P + T = " + std::to_string(n) +
                        " > theory.quadrature_max_points: exact, and lighter than the Monte Carlo route's " +
                        std::to_string(kFourPointBatches) + " K x K replicates per layer)");
  }
  c.four_point = four_point_method_for(spec, nngp, c.settings);
  const bool monte_carlo = c.four_point == core::FourPointMethod::monte_carlo;
  const double bytes = 8.0 * K * K * static_cast<double>(spec.depth()) *
                       (monte_carlo ? static_cast<double>(kFourPointBatches) : 4.0);
  if (monte_carlo ? bytes > kMaxReplicateBytes : !explicit_fits) {
    c.route = OneLoopRoute::operator_form;
    c.reasons.push_back("one loop: P + T = " + std::to_string(n) + " points: the " +
                        (monte_carlo ? "Monte Carlo replicates of the K x K covariances would need " +
                                           format_number(bytes / 1e9) + " GB (limit " +
                                           format_number(kMaxReplicateBytes / 1e9) + " GB)"
                                     : "explicit covariance would have K^2 = " + format_number(K * K) +
                                           " entries (limit " + format_number(kMaxExplicitCovarianceEntries) + ")") +
                        ", so no K x K object is formed");
    return c;
  }
  c.reasons.push_back(std::string("one loop: 4-point functions by ") +
                      std::string(core::four_point_method_name(c.four_point)) +
                      (monte_carlo ? " (standard errors from the library's batch replicates)"
                                   : " (explicit Sigma, deterministic)") +
                      ", once on the P + T = " + std::to_string(n) + " augmented inputs");
  return c;
}

}  // namespace kernelmc::theory
