#pragma once
// A point in phase space (Stan's ps_point): position q, momentum p, and the potential
// U(q) with its gradient ∇U(q). U and ∇U travel with q, so no sampler evaluates the
// potential twice at the same position. make_phase_point (integrators.hpp) fills one.
#include <Eigen/Core>

namespace kernelmc::sampling {

struct PhasePoint {
  Eigen::VectorXd q;         // position θ (THEORY.md §1.4)
  Eigen::VectorXd p;         // momentum; MALA and overdamped Langevin leave it untouched
  Eigen::VectorXd gradient;  // ∇U(q)
  double potential = 0.0;    // U(q)
};

}  // namespace kernelmc::sampling
