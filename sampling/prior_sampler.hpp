#pragma once
// Exact prior sampling of the layer kernels C^(1)..C^(L+1) without weight matrices
// (THEORY.md §1.3, §9.5). Given C^(l), the N_l neurons of layer l are i.i.d. N(0, C^(l))
// over the P inputs, so one network is the ancestral chain
//   h^(l) = R Z (R Rᵀ = C^(l), Z ∈ ℝ^{r×N_l} standard normal),  Φ = φ(h^(l)),
//   C^(l+1) = σ_b² 𝟏𝟏ᵀ + (g_{l+1}/N_l) Φ Φᵀ.
// R is an exact factor of C^(l) with r ≤ P columns: the weights' own factor
// [√(g_l/N_{l−1}) Φ^(l−1), σ_b 𝟏] (Φ^(0) = X) when it has at most P columns (d < P at the
// input, or N < P), otherwise the Cholesky factor of C^(l), or an eigen square root when
// C^(l) is singular. Every choice is exact in distribution for every kernel.
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"
#include "core/rng.hpp"
#include "sampling/accumulators.hpp"

namespace kernelmc::sampling {

// One exact prior draw of C^(1)..C^(L+1) on `inputs` (P×d) (THEORY.md §9.5). C^(1) is the
// deterministic input kernel. Throws ConfigError for an invalid spec, DataError for inputs
// that do not match it, NumericalError if a kernel overflows.
core::KernelStack sample_prior_kernels(const core::ModelSpec& spec,
                                       const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                                       core::Engine& engine);

struct PriorSamplingSettings {
  Eigen::Index networks = 0;     // M
  Eigen::Index batches = 32;     // B: networks are split into B contiguous blocks by index, for batch-means errors
  std::uint64_t seed = 0;
  // Full K×K covariance of the upper-triangle entries (K = P(P+1)/2). Memory is
  // 8·K²·B·L bytes and the work K² per network: turn it off for large P (P = 64 gives
  // 35 MB per accumulator; P = 100, 20 batches, 4 GB and 2.5·10⁷ flops per network).
  bool track_covariance = true;
  // Optional K×q matrix U: also the mean and covariance (q×q) of Uᵀ·upper_triangle(C^(l))
  // per batch, e.g. the target alignment ⟨T, C⟩ when the full covariance is off.
  Eigen::MatrixXd projection{};
};

struct PriorKernelStatistics {
  Eigen::Index points = 0;    // P
  Eigen::Index networks = 0;  // M
  // batches[l - 2][b]: accumulator of core::upper_triangle(C^(l)) over the networks of batch b, l = 2..L+1
  std::vector<std::vector<MeanCovarianceAccumulator>> batches;
  // projected[l - 2][b]: the same for Uᵀ·upper_triangle(C^(l)) (empty without a projection)
  std::vector<std::vector<MeanCovarianceAccumulator>> projected;
  Eigen::Index top_layer() const;                          // L + 1
  MeanCovarianceAccumulator pooled(Eigen::Index l) const;  // all batches merged in batch order
  MeanCovarianceAccumulator pooled_projection(Eigen::Index l) const;  // the same for the projection
};

// M independent networks; network m uses core::make_stream(seed, StreamPurpose::prior_network,
// spec.widths.front(), m) and gives exactly the draw sample_prior_kernels makes with that engine.
// Batch b holds networks [b·M/B, (b+1)·M/B). OpenMP over batches (each batch owns its
// accumulators, networks in index order inside it) so the result is bit-identical for any
// thread count. `progress(networks_done)` is called only from the calling thread, at most a
// few hundred times per call (may be empty); an exception it throws stops the run and is
// rethrown. A failing network stops its batch; the error of the lowest failing batch is
// rethrown after the loop. Throws ConfigError naming `prior_sampling.networks` or
// `prior_sampling.batches` unless 1 ≤ B ≤ M.
PriorKernelStatistics sample_prior_statistics(const core::ModelSpec& spec,
                                              const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                                              const PriorSamplingSettings& settings,
                                              const std::function<void(Eigen::Index)>& progress = {});

}  // namespace kernelmc::sampling
