#include "theory/prior_mean_shift.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "theory/gaussian_expectations.hpp"

namespace kernelmc::theory {

namespace {

// Whether points a and b coincide in C_prev (duplicated inputs, e.g. `kernelmc theory`'s
// test points on a fixed data set): C_aa = C_bb = C_ab to rounding.
bool coincident(const Eigen::Ref<const Eigen::MatrixXd>& C, Eigen::Index a, Eigen::Index b) {
  constexpr double kRounding = 1e-12;
  const double scale = std::max(std::abs(C(a, a)), std::abs(C(b, b)));
  return std::abs(C(a, a) - C(b, b)) <= kRounding * scale && std::abs(C(a, b) - C(a, a)) <= kRounding * scale;
}

}  // namespace

LayerMapHessian layer_map_hessian(const core::ModelSpec& spec, Eigen::Index l,
                                  const Eigen::Ref<const Eigen::MatrixXd>& C_prev, double tolerance) {
  assert(l >= 2 && l <= spec.depth() + 1);
  const Eigen::Index P = C_prev.rows();
  LayerMapHessian H;
  H.g = spec.g(l);
  H.points = P;
  H.diagonal.resize(P);
  for (Eigen::Index a = 0; a < P; ++a) {
    H.diagonal(a) = diagonal_expectation_second_derivative(spec.activation, C_prev(a, a), tolerance);
    for (Eigen::Index b = a + 1; b < P; ++b) {
      // Coinciding points stay coincident in every network: their pair fluctuates along
      // (1, 1, 1) only, where ⟨φ_aφ_b⟩ is the diagonal map ⟨φ_a²⟩, so the Hessian that
      // matters is the diagonal's second derivative (ReLU's pair Hessian diverges there).
      if (coincident(C_prev, a, b)) {
        Eigen::Matrix3d on_diagonal = Eigen::Matrix3d::Zero();
        on_diagonal(0, 0) = H.diagonal(a);
        H.off_diagonal.push_back(on_diagonal);
        continue;
      }
      H.off_diagonal.push_back(
          pair_expectation_hessian(spec.activation, C_prev(a, a), C_prev(b, b), C_prev(a, b), tolerance));
    }
  }
  return H;
}

Eigen::MatrixXd hessian_contraction(const LayerMapHessian& hessian, const PairCovariance& Sigma_prev) {
  const Eigen::Index P = hessian.points;
  Eigen::MatrixXd out(P, P);
  std::size_t pair = 0;
  for (Eigen::Index a = 0; a < P; ++a) {
    out(a, a) = 0.5 * hessian.g * hessian.diagonal(a) * Sigma_prev.diagonal(a, a);
    // Covariance of (C_aa, C_bb, C_ab), the arguments of 𝒢_ab.
    for (Eigen::Index b = a + 1; b < P; ++b)
      out(a, b) = out(b, a) = 0.5 * hessian.g * hessian.off_diagonal[pair++].cwiseProduct(Sigma_prev.block(a, b)).sum();
  }
  return out;
}

Eigen::MatrixXd hessian_contraction(const LayerMapHessian& hessian,
                                    const Eigen::Ref<const Eigen::MatrixXd>& Sigma_prev) {
  return hessian_contraction(hessian, pair_covariance_from_triangle(Sigma_prev));
}

core::KernelStack prior_mean_shift_recursion(const std::vector<JacobianOperator>& jacobians,
                                             const std::vector<LayerMapHessian>& hessians,
                                             const std::vector<PairCovariance>& covariance) {
  assert(jacobians.size() == hessians.size() && hessians.size() == covariance.size());
  const Eigen::Index top = static_cast<Eigen::Index>(covariance.size());
  const Eigen::Index P = hessians.back().points;
  core::KernelStack mu = core::zero_kernel_stack(top, P);  // μ^(1) = 0
  for (Eigen::Index l = 2; l <= top; ++l) {
    const std::size_t i = static_cast<std::size_t>(l - 1);
    // THEORY.md §3.4: μ^(l) = J^(l)[μ^(l−1)] + ½ ∇²𝒢_l : Σ^(l−1).
    mu.layer(l) = apply_jacobian(jacobians[i], mu.layer(l - 1)) +
                  hessian_contraction(hessians[i], covariance[i - 1]);
  }
  return mu;
}

core::KernelStack prior_mean_shift_recursion(const std::vector<JacobianOperator>& jacobians,
                                             const std::vector<LayerMapHessian>& hessians,
                                             const std::vector<Eigen::MatrixXd>& covariance) {
  std::vector<PairCovariance> pairs;
  for (const Eigen::MatrixXd& sigma : covariance) pairs.push_back(pair_covariance_from_triangle(sigma));
  return prior_mean_shift_recursion(jacobians, hessians, pairs);
}

}  // namespace kernelmc::theory
