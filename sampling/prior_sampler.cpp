#include "sampling/prior_sampler.hpp"

#include <omp.h>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <exception>
#include <string>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "sampling/detail/progress_counter.hpp"
#include "sampling/empirical_kernels.hpp"

namespace kernelmc::sampling {

namespace {

// A kernel is treated as singular when its smallest Cholesky pivot² (or eigenvalue) is
// below this fraction of its largest diagonal entry (eigenvalue): such a pivot is
// rounding noise of an exactly singular C^(l) (repeated inputs, dead ReLU units), and its
// square root (~1e-8 relative) would otherwise leak into directions C has no variance in.
// Zeroing it changes the covariance of h by at most 1e-12 relative.
constexpr double kSingularThreshold = 1e-12;

// Networks whose upper triangles are collected as columns before one add_batch.
constexpr Eigen::Index kChunk = 64;

// The boundary checks shared by both entry points (STYLE.md §4).
void check_model_and_inputs(const core::ModelSpec& spec,
                            const Eigen::Ref<const Eigen::MatrixXd>& inputs) {
  core::validate(spec);
  if (inputs.rows() < 1)
    throw DataError("prior inputs: no rows (P = 0); need at least one input point");
  if (inputs.cols() != spec.input_dim)
    throw DataError("prior inputs: " + std::to_string(inputs.cols()) +
                    " columns, but model.input_dim = " + std::to_string(spec.input_dim) +
                    "; they must match (d)");
  for (Eigen::Index j = 0; j < inputs.cols(); ++j) {
    for (Eigen::Index i = 0; i < inputs.rows(); ++i) {
      if (!std::isfinite(inputs(i, j)))
        throw DataError("prior inputs row " + std::to_string(i + 1) + ", column " +
                        std::to_string(j + 1) + ": " + std::to_string(inputs(i, j)) +
                        " is not a finite number");
    }
  }
}

void check_settings(const PriorSamplingSettings& settings) {
  if (settings.networks < 1)
    throw ConfigError("prior_sampling.networks = " + std::to_string(settings.networks) +
                      ": must be at least 1");
  if (settings.batches < 1 || settings.batches > settings.networks)
    throw ConfigError("prior_sampling.batches = " + std::to_string(settings.batches) +
                      ": must be between 1 and prior_sampling.networks = " +
                      std::to_string(settings.networks) + " (every batch needs a network)");
}

// One network's ancestral draw C^(1) → C^(2) → … → C^(L+1) (THEORY.md §9.5), in buffers
// allocated once, so that drawing a network allocates nothing for small P.
class PriorDraw {
 public:
  PriorDraw(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs);

  // Overwrites C^(2)..C^(L+1) with a fresh draw; throws NumericalError on overflow.
  void draw(core::Engine& engine);
  const core::KernelStack& kernels() const { return kernels_; }

 private:
  enum class Root { triangular, general };

  // A square root of C (P×P): the Cholesky factor (in cholesky_) if C is numerically
  // positive definite, otherwise U·√Λ with rounding-level eigenvalues set to 0 (in root_).
  Root factorise(const Eigen::MatrixXd& C);
  // h^(l) = R Z for a factor R (P×r) of C^(l): draws Z ∈ ℝ^{r×width} into noise_.
  void draw_preactivations(const Eigen::Ref<const Eigen::MatrixXd>& factor, Root kind,
                           Eigen::Index width, core::Engine& engine);

  const core::ModelSpec& spec_;
  Eigen::Index points_;                    // P
  core::KernelStack kernels_;              // C^(1) (fixed) .. C^(L+1)
  Eigen::MatrixXd input_factor_;           // R_1 with R_1 R_1ᵀ = C^(1), at most P columns
  Root input_root_ = Root::general;
  Eigen::MatrixXd factor_;                 // [√(g_l/N_{l−1}) Φ^(l−1), σ_b 𝟏] when it fits in P columns
  Eigen::MatrixXd noise_;                  // Z, storage for P × max N_l
  Eigen::MatrixXd preactivations_;         // h^(l), P × max N_l
  Eigen::MatrixXd activations_;            // Φ^(l) = φ(h^(l)), P × max N_l
  Eigen::LLT<Eigen::MatrixXd> cholesky_;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen_;
  Eigen::VectorXd root_scale_;             // √λ, 0 below the singular threshold
  Eigen::MatrixXd root_;                   // U·√Λ
};

PriorDraw::PriorDraw(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs)
    : spec_(spec),
      points_(inputs.rows()),
      kernels_(core::zero_kernel_stack(spec.depth() + 1, inputs.rows())),
      cholesky_(inputs.rows()),
      eigen_(inputs.rows()),
      root_scale_(inputs.rows()),
      root_(inputs.rows(), inputs.rows()) {
  const Eigen::Index P = points_;
  Eigen::Index max_width = 1;
  for (Eigen::Index l = 1; l <= spec.depth(); ++l) max_width = std::max(max_width, spec.width(l));
  noise_.resize(P, max_width);
  preactivations_.resize(P, max_width);
  activations_.resize(P, max_width);
  factor_.resize(P, P);

  const double sigma_b = std::sqrt(spec.bias_variance);
  const bool bias = spec.bias_variance > 0.0;
  kernels_.layer(1) = core::input_kernel(inputs, spec.g(1), spec.bias_variance);
  // C^(1) = F Fᵀ with F = [X √(g_1/d), σ_b 𝟏] (the first layer's own weights, d (+1) normals
  // per neuron); when F has more than P columns a P×P root of C^(1) is cheaper.
  const Eigen::Index d = spec.input_dim;
  if (d + (bias ? 1 : 0) <= P) {
    input_factor_.resize(P, d + (bias ? 1 : 0));
    input_factor_.leftCols(d) = inputs * std::sqrt(spec.g(1) / static_cast<double>(d));
    if (bias) input_factor_.col(d).setConstant(sigma_b);
    input_root_ = Root::general;
  } else {
    input_root_ = factorise(kernels_.layer(1));
    input_factor_ = input_root_ == Root::triangular ? cholesky_.matrixLLT() : root_;
  }
}

PriorDraw::Root PriorDraw::factorise(const Eigen::MatrixXd& C) {
  cholesky_.compute(C);
  if (cholesky_.info() == Eigen::Success) {
    const double min_pivot = cholesky_.matrixLLT().diagonal().minCoeff();
    if (min_pivot * min_pivot > kSingularThreshold * C.diagonal().maxCoeff()) return Root::triangular;
  }
  eigen_.compute(C);
  const Eigen::VectorXd& lambda = eigen_.eigenvalues();
  const double cutoff = kSingularThreshold * std::max(lambda.maxCoeff(), 0.0);
  root_scale_ = (lambda.array() > cutoff).select(lambda.array().sqrt(), 0.0).matrix();
  root_.noalias() = eigen_.eigenvectors() * root_scale_.asDiagonal();
  return Root::general;
}

void PriorDraw::draw_preactivations(const Eigen::Ref<const Eigen::MatrixXd>& factor, Root kind,
                                    Eigen::Index width, core::Engine& engine) {
  Eigen::Map<Eigen::MatrixXd> Z(noise_.data(), factor.cols(), width);
  core::fill_standard_normal(engine, Z);
  auto h = preactivations_.leftCols(width);
  if (kind == Root::triangular) {
    h.noalias() = factor.triangularView<Eigen::Lower>() * Z;
  } else {
    h.noalias() = factor * Z;
  }
}

void PriorDraw::draw(core::Engine& engine) {
  const Eigen::Index P = points_;
  const double sigma_b = std::sqrt(spec_.bias_variance);
  const Eigen::Index bias_column = spec_.bias_variance > 0.0 ? 1 : 0;
  for (Eigen::Index l = 1; l <= spec_.depth(); ++l) {
    const Eigen::Index N = spec_.width(l);
    // THEORY.md §9.5: the N_l neurons of layer l are i.i.d. N(0, C^(l)); draw them as R Z.
    if (l == 1) {
      draw_preactivations(input_factor_, input_root_, N, engine);
    } else if (const Eigen::Index previous = spec_.width(l - 1); previous + bias_column <= P) {
      // C^(l) = F Fᵀ with F = [√(g_l/N_{l−1}) Φ^(l−1), σ_b 𝟏]: rank ≤ N_{l−1} + 1 ≤ P, and
      // drawing through F (the layer's own weights) needs no factorisation at all.
      const Eigen::Index r = previous + bias_column;
      factor_.leftCols(previous) =
          activations_.leftCols(previous) * std::sqrt(spec_.g(l) / static_cast<double>(previous));
      if (bias_column == 1) factor_.col(previous).setConstant(sigma_b);
      draw_preactivations(factor_.leftCols(r), Root::general, N, engine);
    } else {
      const Root kind = factorise(kernels_.layer(l));
      if (kind == Root::triangular) {
        draw_preactivations(cholesky_.matrixLLT(), kind, N, engine);
      } else {
        draw_preactivations(root_, kind, N, engine);
      }
    }
    core::apply_activation(spec_.activation, preactivations_.leftCols(N), activations_.leftCols(N));
    Eigen::MatrixXd& next = kernels_.layer(l + 1);
    empirical_kernel(activations_.leftCols(N), spec_.g(l + 1), spec_.bias_variance, next);
    if (!next.allFinite())
      throw NumericalError("prior_sampler: C^(" + std::to_string(l + 1) +
                           ") has a non-finite entry (overflow; model.g or depth too large)");
  }
}


// The networks of batch b, in index order, into stats.batches[·][b].
void sample_batch(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                  const PriorSamplingSettings& settings, Eigen::Index b,
                  PriorKernelStatistics& stats, detail::ProgressCounter& progress_counter) {
  const Eigen::Index M = settings.networks;
  const Eigen::Index B = settings.batches;
  const Eigen::Index first = b * M / B;
  const Eigen::Index last = (b + 1) * M / B;
  const Eigen::Index P = inputs.rows();
  const Eigen::Index L = spec.depth();
  const auto width_id = static_cast<std::uint64_t>(spec.widths.front());

  PriorDraw draw(spec, inputs);
  // chunk[l − 2].col(j): upper triangle of C^(l) of the j-th network of the current chunk.
  std::vector<Eigen::MatrixXd> chunk(static_cast<std::size_t>(L),
                                     Eigen::MatrixXd(core::triangle_size(P), kChunk));
  const bool project = settings.projection.size() > 0;
  Eigen::MatrixXd projected(settings.projection.cols(), kChunk);
  Eigen::Index filled = 0;
  for (Eigen::Index m = first; m < last; ++m) {
    core::Engine engine = core::make_stream(settings.seed, core::StreamPurpose::prior_network,
                                            width_id, static_cast<std::uint64_t>(m));
    draw.draw(engine);
    for (Eigen::Index l = 2; l <= L + 1; ++l) {
      const Eigen::MatrixXd& C = draw.kernels().layer(l);
      auto column = chunk[static_cast<std::size_t>(l - 2)].col(filled);
      Eigen::Index k = 0;
      for (Eigen::Index a = 0; a < P; ++a) {
        for (Eigen::Index c = a; c < P; ++c) column(k++) = C(c, a);  // core::upper_triangle order
      }
    }
    ++filled;
    if (filled == kChunk || m + 1 == last) {
      for (Eigen::Index l = 2; l <= L + 1; ++l) {
        const auto i = static_cast<std::size_t>(l - 2);
        stats.batches[i][static_cast<std::size_t>(b)].add_batch(chunk[i].leftCols(filled));
        if (project) {
          projected.leftCols(filled).noalias() = settings.projection.transpose() * chunk[i].leftCols(filled);
          stats.projected[i][static_cast<std::size_t>(b)].add_batch(projected.leftCols(filled));
        }
      }
      progress_counter.add(filled);
      filled = 0;
      if (progress_counter.cancelled()) return;
    }
  }
}

}  // namespace

core::KernelStack sample_prior_kernels(const core::ModelSpec& spec,
                                       const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                                       core::Engine& engine) {
  check_model_and_inputs(spec, inputs);
  PriorDraw draw(spec, inputs);
  draw.draw(engine);
  return draw.kernels();
}

Eigen::Index PriorKernelStatistics::top_layer() const {
  return static_cast<Eigen::Index>(batches.size()) + 1;
}

namespace {

MeanCovarianceAccumulator merged(const std::vector<MeanCovarianceAccumulator>& parts) {
  MeanCovarianceAccumulator all;
  for (const MeanCovarianceAccumulator& batch : parts) all.merge(batch);
  return all;
}

}  // namespace

MeanCovarianceAccumulator PriorKernelStatistics::pooled(Eigen::Index l) const {
  assert(l >= 2 && l <= top_layer());
  return merged(batches[static_cast<std::size_t>(l - 2)]);
}

MeanCovarianceAccumulator PriorKernelStatistics::pooled_projection(Eigen::Index l) const {
  assert(l >= 2 && l <= top_layer() && !projected.empty());
  return merged(projected[static_cast<std::size_t>(l - 2)]);
}

PriorKernelStatistics sample_prior_statistics(const core::ModelSpec& spec,
                                              const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                                              const PriorSamplingSettings& settings,
                                              const std::function<void(Eigen::Index)>& progress) {
  check_model_and_inputs(spec, inputs);
  check_settings(settings);
  const Eigen::Index B = settings.batches;
  const Eigen::Index K = core::triangle_size(inputs.rows());

  PriorKernelStatistics stats;
  stats.points = inputs.rows();
  stats.networks = settings.networks;
  stats.batches.assign(static_cast<std::size_t>(spec.depth()),
                       std::vector<MeanCovarianceAccumulator>(
                           static_cast<std::size_t>(B), MeanCovarianceAccumulator(K, settings.track_covariance)));
  if (settings.projection.size() > 0) {
    if (settings.projection.rows() != K)
      throw DataError("prior_sampling.projection: " + std::to_string(settings.projection.rows()) +
                      " rows, expected K = P(P+1)/2 = " + std::to_string(K));
    stats.projected.assign(static_cast<std::size_t>(spec.depth()),
                           std::vector<MeanCovarianceAccumulator>(static_cast<std::size_t>(B),
                                                                  MeanCovarianceAccumulator(settings.projection.cols())));
  }

  // STYLE.md §4, §6: per-batch streams and accumulators, no exception leaves the region,
  // the lowest failing batch's error is rethrown afterwards.
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(B));
  detail::ProgressCounter progress_counter(progress, settings.networks);
#pragma omp parallel for schedule(dynamic, 1)
  for (Eigen::Index b = 0; b < B; ++b) {
    if (progress_counter.cancelled()) continue;
    try {
      sample_batch(spec, inputs, settings, b, stats, progress_counter);
    } catch (...) {
      errors[static_cast<std::size_t>(b)] = std::current_exception();
    }
  }
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  if (progress_counter.error()) std::rethrow_exception(progress_counter.error());
  if (progress) progress(settings.networks);
  return stats;
}

}  // namespace kernelmc::sampling
