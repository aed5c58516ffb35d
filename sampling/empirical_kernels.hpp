#pragma once
// The empirical kernel of one layer from its activations (THEORY.md §1.3):
//   C^(l+1) = σ_b² 𝟏𝟏ᵀ + (g_{l+1}/N_l) Φ Φᵀ,  Φ = φ(h^(l)) ∈ ℝ^{P×N_l}.
// Shared by the exact prior sampler and by kernel measurements on explicit networks.
#include <Eigen/Core>

namespace kernelmc::sampling {

// Writes C = σ_b² 𝟏𝟏ᵀ + (g/N) Φ Φᵀ (N = activations.cols()) into `kernel`, which the caller
// sizes P×P. Built as a symmetric rank update (half the flops of Φ Φᵀ, STYLE.md §3) and then
// mirrored, so the result is exactly symmetric. No heap allocation for small P.
void empirical_kernel(const Eigen::Ref<const Eigen::MatrixXd>& activations, double g,
                      double bias_variance, Eigen::Ref<Eigen::MatrixXd> kernel);

// The same, returned as a new P×P matrix.
Eigen::MatrixXd empirical_kernel(const Eigen::Ref<const Eigen::MatrixXd>& activations, double g,
                                 double bias_variance);

}  // namespace kernelmc::sampling
