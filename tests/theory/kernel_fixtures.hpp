#pragma once
// Kernels and models shared by the tests of the analytic theory (prior and tilted).
#include <Eigen/Core>
#include <cstdint>

#include "core/model_spec.hpp"
#include "core/rng.hpp"

namespace kernelmc::theory::fixtures {

// A positive definite 4×4 kernel (smallest eigenvalue 0.17) with variances ≤ 1, where
// 4-D Gauss–Hermite with 80 nodes is converged to ≈ 1e-10 for erf
// (gauss_hermite_four_point_error(erf, 1, 80) ≈ 1e-10 is the worst case, all variance in
// one direction).
inline Eigen::MatrixXd moderate_kernel() {
  Eigen::MatrixXd C(4, 4);
  C << 1.0, 0.4, -0.2, 0.2,
       0.4, 0.8, 0.1, -0.2,
      -0.2, 0.1, 0.6, 0.2,
       0.2, -0.2, 0.2, 0.9;
  return C;
}

// A positive definite 3×3 kernel of small variance (Gauss–Hermite on erf converges
// geometrically here: THEORY.md §2 quotes slow convergence only for variances ≈ 2–4).
// With moderate_tilt(): the tilted expectations' tests (THEORY.md §4.3, §4.4).
inline Eigen::Matrix3d small_kernel() {
  Eigen::Matrix3d C;
  C << 0.40, 0.15, -0.10,
       0.15, 0.35, 0.05,
      -0.10, 0.05, 0.30;
  return C;
}

// A symmetric 3×3 tilt large enough that its O(C̃²) effects are far above rounding.
inline Eigen::Matrix3d moderate_tilt() {
  Eigen::Matrix3d T;
  T << 0.10, -0.08, 0.05,
      -0.08, 0.12, 0.06,
       0.05, 0.06, -0.07;
  return T;
}

// A random symmetric P×P matrix (entries N(0, 1)/√2 off the diagonal) from the test stream.
inline Eigen::MatrixXd random_symmetric(std::uint64_t index, Eigen::Index P) {
  core::Engine engine = core::make_stream(7, core::StreamPurpose::test, 0, index);
  const Eigen::MatrixXd A = core::standard_normal_matrix(engine, P, P);
  return 0.5 * (A + A.transpose());
}

// THEORY.md §8 Config A (erf, g = 2, σ_b = 0, L = 3) at N = 1, so that Σ is NΣ and μ is Nμ.
inline core::ModelSpec config_a_spec(double g = 2.0) {
  return core::uniform_model(3, 3, 1, core::Activation::erf, g, 0.0, 1.0);
}

}  // namespace kernelmc::theory::fixtures
