#pragma once
// The choice between the two one-loop routes for a model on n inputs (THEORY.md §9.2):
// - explicit: Σ^(l) as K×K matrices over the upper-triangle entries (K = n(n+1)/2), from
//   quadrature 4-point functions, or from Monte Carlo as kFourPointBatches K×K replicates
//   per layer (theory/prior_moments, theory/one_loop);
// - operator: no K×K object (theory/one_loop_operator), for n where those do not fit.
#include <Eigen/Core>
#include <string>
#include <vector>

#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"
#include "core/settings/theory.hpp"

namespace kernelmc::theory {

// Largest K² for which the explicit route forms Σ from quadrature: 1e7 doubles = 80 MB per
// matrix (n ≤ 79).
inline constexpr double kMaxExplicitCovarianceEntries = 1e7;
// Largest memory (bytes) of the Monte Carlo explicit route's kFourPointBatches K×K
// replicates per layer.
inline constexpr double kMaxReplicateBytes = 2e9;

enum class OneLoopRoute { explicit_covariance, operator_form };

struct OneLoopRouteChoice {
  OneLoopRoute route = OneLoopRoute::explicit_covariance;
  core::TheorySettings settings;  // the settings to run with (theory.four_point possibly resolved)
  core::FourPointMethod four_point = core::FourPointMethod::quadrature;  // the explicit route's method
  std::vector<std::string> reasons;  // every automatic choice, in words ("4-point functions: ...", "one loop: ...")
};

// The route for `spec` with NNGP kernels `nngp` on its n inputs. With
// `exact_beyond_quadrature_points`, theory.four_point = automatic with erf or linear φ uses
// the exact (closed-form) quadrature route also for n > theory.quadrature_max_points while
// the explicit K×K matrix fits (exact, and lighter than the Monte Carlo replicates). The
// operator route is chosen when the explicit one does not fit: quadrature with K² >
// kMaxExplicitCovarianceEntries, Monte Carlo with replicates over kMaxReplicateBytes.
OneLoopRouteChoice choose_one_loop_route(const core::ModelSpec& spec, const core::KernelStack& nngp,
                                         const core::TheorySettings& settings, bool exact_beyond_quadrature_points);

}  // namespace kernelmc::theory
