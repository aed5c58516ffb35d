#include "theory/nngp.hpp"

#include <cassert>

#include "core/dataset.hpp"
#include "theory/gaussian_expectations.hpp"

namespace kernelmc::theory {

Eigen::MatrixXd activation_step(core::Activation activation,
                                const Eigen::Ref<const Eigen::MatrixXd>& C, double tolerance) {
  return expected_phi_phi(activation, C, tolerance);
}

Eigen::MatrixXd affine_step(const Eigen::Ref<const Eigen::MatrixXd>& K, double g,
                            double bias_variance) {
  return (g * K.array() + bias_variance).matrix();
}

Eigen::MatrixXd nngp_layer_map(const core::ModelSpec& spec, Eigen::Index l,
                               const Eigen::Ref<const Eigen::MatrixXd>& C_prev, double tolerance) {
  assert(l >= 2 && l <= spec.depth() + 1);
  // THEORY.md §2: 𝒢(C)_ab = σ_b² + g ⟨φ(h_a)φ(h_b)⟩_C.
  return affine_step(activation_step(spec.activation, C_prev, tolerance), spec.g(l),
                     spec.bias_variance);
}

core::KernelStack nngp_kernels(const core::ModelSpec& spec,
                               const Eigen::Ref<const Eigen::MatrixXd>& inputs, double tolerance) {
  core::KernelStack stack;
  stack.kernels.push_back(core::input_kernel(inputs, spec.g(1), spec.bias_variance));
  for (Eigen::Index l = 2; l <= spec.depth() + 1; ++l)
    stack.kernels.push_back(nngp_layer_map(spec, l, stack.layer(l - 1), tolerance));
  return stack;
}

}  // namespace kernelmc::theory
