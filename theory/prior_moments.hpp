#pragma once
// The analytic prior statistics of all kernels at leading order in 1/N (THEORY.md §2,
// §3.1, §3.4): the one entry point the validation layer calls.
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"
#include "core/settings/theory.hpp"

namespace kernelmc::theory {

struct PriorMoments {
  core::KernelStack nngp;                                  // C_GP^(l), l = 1..L+1
  core::KernelStack mean_shift;                            // μ^(l) (O(1/N)); μ^(1) = 0
  std::vector<Eigen::MatrixXd> covariance;                 // [l−1]: Σ^(l), K×K over upper-triangle entries; Σ^(1) = 0
  std::vector<Eigen::MatrixXd> covariance_standard_error;  // [l−1]: Monte Carlo SE of Σ^(l) entries (zero when computed by quadrature)
  core::KernelStack mean_shift_standard_error;             // likewise for μ
  core::FourPointMethod method_used;                       // quadrature or monte_carlo

  // Σ^(l) and its SE by layer number, l = 1..L+1.
  const Eigen::MatrixXd& covariance_of(Eigen::Index l) const { return covariance[static_cast<std::size_t>(l - 1)]; }
  const Eigen::MatrixXd& covariance_standard_error_of(Eigen::Index l) const {
    return covariance_standard_error[static_cast<std::size_t>(l - 1)];
  }
};

// NNGP kernels, Σ^(l) and μ^(l) for the model `spec` on `inputs` (P×d). V^(l) carries
// 1/N_{l−1}, so a spec with all widths 1 gives NΣ and Nμ. The 4-point functions use the
// method resolve_four_point_method picks (four_point_method_for). With Monte Carlo, the
// draws for V^(l) come from make_stream(seed, four_point_mc, 0, l), split into
// kFourPointBatches batches; Σ and μ are linear in the V's, so each batch replicate is
// pushed through the whole recursion and the standard errors are the replicates'
// standard deviation / √B. Layers run in parallel, each on its own stream, so the result
// is bit-identical for any number of threads.
PriorMoments prior_moments(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                           const core::TheorySettings& settings, std::uint64_t seed);

}  // namespace kernelmc::theory
