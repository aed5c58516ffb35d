#pragma once
// The infinite-width (NNGP) kernel recursion of THEORY.md §2: C_GP^(1) = C^(1) and
// C_GP^(l) = 𝒢_l(C_GP^(l−1)) with 𝒢_l(C) = σ_b² 𝟏𝟏ᵀ + g_l ⟨φφᵀ⟩_C. As in neural-tangents'
// stax (STYLE.md §9), a layer is an activation step followed by an affine step, each a
// map from one P×P kernel to the next.
#include <Eigen/Core>

#include "core/activation.hpp"
#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"

namespace kernelmc::theory {

// Activation step: ⟨φφᵀ⟩_C, h ~ N(0, C) (THEORY.md §2 table; tanh by Gauss–Hermite
// to `tolerance`).
Eigen::MatrixXd activation_step(core::Activation activation,
                                const Eigen::Ref<const Eigen::MatrixXd>& C, double tolerance);

// Affine step: σ_b² 𝟏𝟏ᵀ + g K, for K the second moment of the previous layer's outputs.
Eigen::MatrixXd affine_step(const Eigen::Ref<const Eigen::MatrixXd>& K, double g,
                            double bias_variance);

// 𝒢_l(C_prev) = σ_b² 𝟏𝟏ᵀ + g_l ⟨φφᵀ⟩_{C_prev}, for l = 2..L+1.
Eigen::MatrixXd nngp_layer_map(const core::ModelSpec& spec, Eigen::Index l,
                               const Eigen::Ref<const Eigen::MatrixXd>& C_prev, double tolerance);

// C_GP^(1..L+1): C^(1) = (g_1/d) X Xᵀ + σ_b² 𝟏𝟏ᵀ (core::input_kernel), then the map.
core::KernelStack nngp_kernels(const core::ModelSpec& spec,
                               const Eigen::Ref<const Eigen::MatrixXd>& inputs, double tolerance);

}  // namespace kernelmc::theory
