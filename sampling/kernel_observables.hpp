#pragma once
// Posterior kernel observables, streamed from MCMC draws (THEORY.md §1.3, §9.4): for
// every layer l = 2..L+1 the posterior mean of C^(l) with a Monte Carlo standard error
// per entry, and three scalar summaries per draw,
//   trace      tr C,
//   KTA        ⟨C, YYᵀ⟩_F / (‖C‖_F ‖YYᵀ‖_F)        (kernel-target alignment, Cristianini,
//              Shawe-Taylor, Elisseeff & Kandola 2001),
//   CKA        the same for HCH and HYYᵀH, H = I − 𝟏𝟏ᵀ/P   (centred kernel alignment,
//              Cortes, Mohri & Rostamizadeh 2012, JMLR 13, 795),
// kept as draws × chains series for R̂ / ESS / MCSE (sampling/diagnostics).
//
// Standard errors of kernel entries: batch means (Flegal & Jones 2010). Each chain's
// draws are cut into B consecutive batches; the B·C batch means of all chains, with
// their sizes n_j, give SE² = Σ_j n_j (m_j − x̄)² / ((J − 1) n), J = B·C, n = Σ n_j.
// Why batch means and not ESS: they stream (no draws kept, any P), and pooling the
// batches of all chains around the grand mean inflates the SE when chains disagree,
// where a per-chain ESS would not. They are honest when a batch is much longer than the
// integrated autocorrelation time τ; every entry's implied τ̂ = n·SE²/Var is reported so
// that a too-short batch is visible (batch length ≥ 20 τ̂ keeps the SE's bias ≲ 5 %).
// The SE has J − 1 degrees of freedom (Student t for tests). When every entry's draws
// fit in memory (keep_entry_draws) the entries also get split R̂ and bulk/tail ESS.
//
// One KernelObservables per chain (a DrawRecorder, with its own Network as workspace);
// summarize_observables merges them in chain order, so the summary is bit-identical for
// any thread count.
#include <Eigen/Core>
#include <array>
#include <string_view>
#include <vector>

#include "core/dataset.hpp"
#include "core/model_spec.hpp"
#include "sampling/accumulators.hpp"
#include "sampling/chain_runner.hpp"
#include "sampling/network.hpp"

namespace kernelmc::sampling {

// KTA ⟨C, YYᵀ⟩_F / (‖C‖_F ‖YYᵀ‖_F), computed as Σ(CY)∘Y / (‖C‖_F ‖YᵀY‖_F); 0 for C = 0
// (a zero kernel is orthogonal to every target), NaN for Y = 0 (undefined).
double kernel_target_alignment(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                               const Eigen::Ref<const Eigen::MatrixXd>& targets);
// CKA: kernel_target_alignment of HCH against the centred targets HY (⟨HCH, HYYᵀH⟩ =
// ⟨C, (HY)(HY)ᵀ⟩); 0 when HCH = 0, NaN when HY = 0.
double centered_kernel_alignment(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                                 const Eigen::Ref<const Eigen::MatrixXd>& targets);

// Means of consecutive batches of one chain's draws of a vector quantity: draw i of n
// goes to batch ⌊i·B/n⌋, so batch sizes differ by at most one.
class BatchMeans {
 public:
  BatchMeans() = default;
  BatchMeans(Eigen::Index dimension, Eigen::Index draws, Eigen::Index batches);
  void add(Eigen::Index index, const Eigen::Ref<const Eigen::VectorXd>& x);
  Eigen::Index batches() const { return sums_.cols(); }
  // dimension × B matrix of batch means; the batch sizes.
  Eigen::MatrixXd means() const;
  const Eigen::VectorXi& sizes() const { return counts_; }
  // The sums and counts, and those restored into a BatchMeans of the same shape (DataError
  // otherwise): checkpoints of a finished chain.
  std::vector<Eigen::MatrixXd> state() const;
  void restore(const std::vector<Eigen::MatrixXd>& state);

 private:
  Eigen::Index draws_ = 0;
  Eigen::MatrixXd sums_;   // dimension × B
  Eigen::VectorXi counts_; // draws added per batch
};

// The batch-means estimate over several chains' BatchMeans (the header's formula).
struct BatchMeansEstimate {
  Eigen::VectorXd mean;  // x̄, the mean of all draws
  Eigen::VectorXd se;    // its standard error
  Eigen::Index degrees_of_freedom = 0;  // J − 1
};
BatchMeansEstimate pool_batch_means(const std::vector<const BatchMeans*>& chains);

// Which scalar summary of a kernel.
enum class KernelSummaryKind { trace, kta, cka };
inline constexpr int kKernelSummaryKinds = 3;
std::string_view kernel_summary_name(KernelSummaryKind kind);  // "trace", "KTA", "CKA"

struct ObservableSettings {
  Eigen::Index draws = 0;    // kept draws per chain (record's index runs over 0..draws−1)
  // Batches per chain. Ten batches of a 1000-draw chain are 100 draws long, ≥ 20 τ for
  // τ ≤ 5; with 4 chains the SE has 39 degrees of freedom (Schmeiser 1982: 10–30 batches).
  Eigen::Index batches = 10;
  bool keep_entry_draws = false;  // keep every upper-triangle entry's draws (R̂/ESS per entry, .npy)
  bool record_output = false;     // the recorded θ is the full vector: also record F at the inputs
};
// Throws ConfigError naming `posterior.batches` unless 1 ≤ batches ≤ draws.
void validate(const ObservableSettings& settings);

// The recorder of one chain.
class KernelObservables final : public DrawRecorder {
 public:
  // `spec` and `data` validated as for the posteriors (ConfigError / DataError).
  KernelObservables(const core::ModelSpec& spec, const core::Dataset& data, const ObservableSettings& settings);

  // Kernels C^(2..L+1) of θ (θ_h, or full θ when record_output). Throws NumericalError
  // naming the draw and layer if a kernel (or F) is not finite.
  void record(Eigen::Index index, const Eigen::Ref<const Eigen::VectorXd>& theta) override;

  const ObservableSettings& settings() const { return settings_; }
  Eigen::Index points() const { return network_.points(); }               // P
  Eigen::Index top_layer() const { return network_.spec().depth() + 1; }  // L + 1
  // False for KTA and CKA when their target is zero (Y = 0, resp. HY = 0), and for CKA
  // when P ≤ 2 (the centred space is one-dimensional, CKA = ±1 identically). An
  // undefined summary is recorded as 0 and summarised as not defined.
  bool summary_defined(KernelSummaryKind kind) const { return defined_[static_cast<std::size_t>(kind)]; }
  // Layer l = 2..L+1: batch means and Welford moments of core::upper_triangle(C^(l));
  // the scalar summaries (draws × kKernelSummaryKinds, columns in KernelSummaryKind order);
  // the entry draws (K × draws, empty unless keep_entry_draws).
  const BatchMeans& entry_batches(Eigen::Index l) const { return layers_[index(l)].batches; }
  const MeanCovarianceAccumulator& entry_moments(Eigen::Index l) const { return layers_[index(l)].moments; }
  const Eigen::MatrixXd& summaries(Eigen::Index l) const { return layers_[index(l)].summaries; }
  const Eigen::MatrixXd& entry_draws(Eigen::Index l) const { return layers_[index(l)].entry_draws; }
  // Moves the entry draws of layer l out (leaving them empty).
  Eigen::MatrixXd take_entry_draws(Eigen::Index l) { return std::move(layers_[index(l)].entry_draws); }
  // F (P×D, column-major vector) when record_output.
  const BatchMeans& output_batches() const { return output_batches_; }
  const MeanCovarianceAccumulator& output_moments() const { return output_moments_; }

  // Everything record() has accumulated, as arrays (per layer: batch means, moments,
  // summaries, entry draws; then F's), and that state restored into observables built with
  // the same spec, data and settings (DataError if the arrays do not fit): a finished chain
  // kept in a checkpoint (validation/posterior_checkpoint.hpp) and taken up by a resumed run.
  std::vector<Eigen::MatrixXd> state() const;
  void restore(const std::vector<Eigen::MatrixXd>& state);
  // The same state as a chain's partial state (DrawRecorder's contract).
  void save_state(core::BinaryWriter& out) const override;
  void restore_state(core::BinaryReader& in) override;

 private:
  struct Layer {
    BatchMeans batches;
    MeanCovarianceAccumulator moments;
    Eigen::MatrixXd summaries;    // draws × 3
    Eigen::MatrixXd entry_draws;  // K × draws
  };
  static std::size_t index(Eigen::Index l) { return static_cast<std::size_t>(l - 2); }

  ObservableSettings settings_;
  Network network_;
  Eigen::MatrixXd targets_;  // Y
  std::array<bool, kKernelSummaryKinds> defined_{};
  std::vector<Layer> layers_;
  BatchMeans output_batches_;
  MeanCovarianceAccumulator output_moments_;
  Eigen::MatrixXd kernel_;    // C^(l) buffer
  Eigen::VectorXd entries_;   // its upper triangle
};

// One scalar summary of one layer, over all chains, with its diagnostics (NaN where the
// diagnostic is undefined: constant or too few draws; see sampling/diagnostics).
struct ScalarSummary {
  KernelSummaryKind kind = KernelSummaryKind::trace;
  bool defined = true;      // see KernelObservables::summary_defined; if false, draws is empty
                            // and every statistic below is 0, never NaN
  Eigen::MatrixXd draws;    // draws × chains
  double mean = 0.0;
  double sd = 0.0;          // posterior standard deviation
  double mcse = 0.0;        // mcse_mean: sd/√ess_mean
  double rhat = 0.0;        // max(rhat_bulk, rhat_tail), Vehtari et al. 2021 §4.2
  double rhat_bulk = 0.0;
  double rhat_tail = 0.0;
  double ess_bulk = 0.0;
  double ess_tail = 0.0;
};

// Layer l of the posterior, merged over chains.
struct LayerSummary {
  Eigen::Index layer = 0;               // l = 2..L+1
  Eigen::MatrixXd mean;                 // E_post[C^(l)], P×P
  Eigen::MatrixXd mcse;                 // batch-means SE of each entry, P×P
  Eigen::MatrixXd sd;                   // posterior standard deviation of each entry
  Eigen::MatrixXd autocorrelation_time; // τ̂ = n·mcse²/sd² implied by the batch means
  // When entry draws were kept (else empty): split R̂ (max bulk/tail), bulk and tail ESS
  // per entry, and the draws themselves, [c] = K × draws of chain c.
  Eigen::MatrixXd rhat, ess_bulk, ess_tail;
  std::vector<Eigen::MatrixXd> entry_draws;
  std::vector<ScalarSummary> summaries;  // in KernelSummaryKind order
  const ScalarSummary& summary(KernelSummaryKind kind) const {
    return summaries[static_cast<std::size_t>(kind)];
  }
};

struct KernelPosteriorSummary {
  Eigen::Index points = 0;            // P
  Eigen::Index chains = 0;            // C
  Eigen::Index draws_per_chain = 0;
  Eigen::Index batches_per_chain = 0;
  Eigen::Index batch_degrees_of_freedom = 0;  // B·C − 1
  bool entry_draws_kept = false;
  std::vector<LayerSummary> layers;   // l = 2..L+1
  const LayerSummary& layer(Eigen::Index l) const { return layers[static_cast<std::size_t>(l - 2)]; }
  // F at the training inputs (P×D) when recorded, else empty.
  Eigen::MatrixXd output_mean, output_mcse, output_sd;
};

// Merges the chains (in order; at least one, all with equal settings) and computes every
// diagnostic. Moves the entry draws out of `chains`.
KernelPosteriorSummary summarize_observables(std::vector<KernelObservables>& chains);

}  // namespace kernelmc::sampling
