#include "sampling/kernel_observables.hpp"

#include <cmath>
#include <exception>
#include <limits>
#include <string>

#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "sampling/diagnostics/ess.hpp"
#include "sampling/diagnostics/mcse.hpp"
#include "sampling/diagnostics/rhat.hpp"

namespace kernelmc::sampling {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ⟨C, YYᵀ⟩_F / (‖C‖_F ‖YYᵀ‖_F) with ‖YYᵀ‖_F = ‖YᵀY‖_F; `kernel_norm` = ‖C‖_F.
double alignment(const Eigen::Ref<const Eigen::MatrixXd>& C, double kernel_norm,
                 const Eigen::Ref<const Eigen::MatrixXd>& Y) {
  const double target_norm = (Y.transpose() * Y).norm();
  if (target_norm == 0.0) return kNaN;
  if (kernel_norm == 0.0) return 0.0;
  return (C * Y).cwiseProduct(Y).sum() / (kernel_norm * target_norm);
}

// ‖HCH‖_F: HCH = C − row means − column means + grand mean.
double centred_norm(const Eigen::Ref<const Eigen::MatrixXd>& C) {
  const Eigen::VectorXd col_means = C.colwise().mean().transpose();
  const Eigen::VectorXd row_means = C.rowwise().mean();
  const double grand = C.mean();
  double sum = 0.0;
  for (Eigen::Index j = 0; j < C.cols(); ++j) {
    for (Eigen::Index i = 0; i < C.rows(); ++i) {
      const double v = C(i, j) - row_means(i) - col_means(j) + grand;
      sum += v * v;
    }
  }
  return std::sqrt(sum);
}

Eigen::MatrixXd centred_columns(const Eigen::Ref<const Eigen::MatrixXd>& Y) {
  return Y.rowwise() - Y.colwise().mean();
}

// The spec, after checking it, the data and their agreement (as the posteriors do).
const core::ModelSpec& checked(const core::ModelSpec& spec, const core::Dataset& data) {
  core::check_fits(data, spec);
  return spec;
}

std::string draw_name(Eigen::Index index) { return "posterior draw " + std::to_string(index); }

// Diagnostics of a draws × chains series.
ScalarSummary summarize_series(KernelSummaryKind kind, Eigen::MatrixXd draws) {
  ScalarSummary s;
  s.kind = kind;
  s.mean = draws.mean();
  const double n = static_cast<double>(draws.size());
  s.sd = n > 1 ? std::sqrt((draws.array() - s.mean).square().sum() / (n - 1.0)) : kNaN;
  s.mcse = mcse_mean(draws);
  s.rhat_bulk = rhat_bulk(draws);
  s.rhat_tail = rhat_tail(draws);
  s.rhat = rhat(draws);
  s.ess_bulk = ess_bulk(draws);
  s.ess_tail = ess_tail(draws);
  s.draws = std::move(draws);
  return s;
}

}  // namespace

double kernel_target_alignment(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                               const Eigen::Ref<const Eigen::MatrixXd>& targets) {
  return alignment(kernel, kernel.norm(), targets);
}

double centered_kernel_alignment(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                                 const Eigen::Ref<const Eigen::MatrixXd>& targets) {
  // ⟨HCH, HYYᵀH⟩ = ⟨C, (HY)(HY)ᵀ⟩ since H is symmetric and idempotent.
  return alignment(kernel, centred_norm(kernel), centred_columns(targets));
}

std::string_view kernel_summary_name(KernelSummaryKind kind) {
  switch (kind) {
    case KernelSummaryKind::trace: return "trace";
    case KernelSummaryKind::kta: return "KTA";
    case KernelSummaryKind::cka: return "CKA";
  }
  return "unknown";
}

BatchMeans::BatchMeans(Eigen::Index dimension, Eigen::Index draws, Eigen::Index batches)
    : draws_(draws), sums_(Eigen::MatrixXd::Zero(dimension, batches)), counts_(Eigen::VectorXi::Zero(batches)) {}

void BatchMeans::add(Eigen::Index index, const Eigen::Ref<const Eigen::VectorXd>& x) {
  const Eigen::Index b = index * sums_.cols() / draws_;
  sums_.col(b) += x;
  ++counts_(b);
}

Eigen::MatrixXd BatchMeans::means() const {
  return sums_.array().rowwise() / counts_.cast<double>().transpose().array();
}

std::vector<Eigen::MatrixXd> BatchMeans::state() const { return {sums_, counts_.cast<double>()}; }

void BatchMeans::restore(const std::vector<Eigen::MatrixXd>& state) {
  if (state.size() != 2 || state[0].rows() != sums_.rows() || state[0].cols() != sums_.cols() ||
      state[1].rows() != counts_.size() || state[1].cols() != 1)
    throw DataError("batch means state: the arrays do not fit these batch means");
  sums_ = state[0];
  counts_ = state[1].col(0).cast<int>();
}

BatchMeansEstimate pool_batch_means(const std::vector<const BatchMeans*>& chains) {
  const Eigen::Index dim = chains.front()->means().rows();
  Eigen::VectorXd weighted_sum = Eigen::VectorXd::Zero(dim);
  double n = 0.0;
  Eigen::Index J = 0;
  for (const BatchMeans* c : chains) {
    weighted_sum += c->means() * c->sizes().cast<double>();
    n += c->sizes().sum();
    J += c->batches();
  }
  BatchMeansEstimate e;
  e.mean = weighted_sum / n;
  Eigen::VectorXd spread = Eigen::VectorXd::Zero(dim);
  for (const BatchMeans* c : chains) {
    const Eigen::MatrixXd deviation = c->means().colwise() - e.mean;
    spread += deviation.cwiseAbs2() * c->sizes().cast<double>();
  }
  e.degrees_of_freedom = J - 1;
  e.se = J > 1 ? (spread / (static_cast<double>(J - 1) * n)).cwiseSqrt().eval()
               : Eigen::VectorXd::Constant(dim, kNaN);
  return e;
}

void validate(const ObservableSettings& s) {
  if (s.batches < 1 || s.batches > s.draws)
    throw ConfigError("posterior.batches = " + std::to_string(s.batches) +
                      ": must lie in [1, posterior.draws = " + std::to_string(s.draws) + "]");
}

KernelObservables::KernelObservables(const core::ModelSpec& spec, const core::Dataset& data,
                                     const ObservableSettings& settings)
    : settings_(settings), network_(checked(spec, data), data.inputs), targets_(data.targets) {
  validate(settings);
  defined_ = {true, targets_.norm() > 0.0, data.size() >= 3 && centred_columns(targets_).norm() > 0.0};
  const Eigen::Index P = data.size();
  const Eigen::Index K = core::triangle_size(P);
  const Eigen::Index n = settings.draws;
  for (Eigen::Index l = 2; l <= spec.depth() + 1; ++l) {
    Layer layer{BatchMeans(K, n, settings.batches), MeanCovarianceAccumulator(K, false),
                Eigen::MatrixXd::Zero(n, kKernelSummaryKinds), Eigen::MatrixXd()};
    if (settings.keep_entry_draws) layer.entry_draws.resize(K, n);
    layers_.push_back(std::move(layer));
  }
  if (settings.record_output) {
    output_batches_ = BatchMeans(P * spec.output_dim, n, settings.batches);
    output_moments_ = MeanCovarianceAccumulator(P * spec.output_dim, false);
  }
  kernel_.resize(P, P);
  entries_.resize(K);
}

namespace {

// Appends `part` to `out`.
void append(std::vector<Eigen::MatrixXd>& out, std::vector<Eigen::MatrixXd> part) {
  for (Eigen::MatrixXd& m : part) out.push_back(std::move(m));
}
// The `count` arrays of `state` from `next` on, advancing `next` (DataError if too few).
std::vector<Eigen::MatrixXd> take(const std::vector<Eigen::MatrixXd>& state, std::size_t& next, std::size_t count) {
  if (state.size() < next + count) throw DataError("kernel observables state: too few arrays");
  next += count;
  return {state.begin() + static_cast<std::ptrdiff_t>(next - count), state.begin() + static_cast<std::ptrdiff_t>(next)};
}
// `value` into `target`, whose shape it must have (DataError otherwise).
void restore_matrix(Eigen::MatrixXd& target, const Eigen::MatrixXd& value) {
  if (value.rows() != target.rows() || value.cols() != target.cols())
    throw DataError("kernel observables state: an array does not fit");
  target = value;
}

}  // namespace

std::vector<Eigen::MatrixXd> KernelObservables::state() const {
  std::vector<Eigen::MatrixXd> out;
  for (const Layer& layer : layers_) {
    append(out, layer.batches.state());
    append(out, layer.moments.state());
    out.push_back(layer.summaries);
    out.push_back(layer.entry_draws);
  }
  if (settings_.record_output) {
    append(out, output_batches_.state());
    append(out, output_moments_.state());
  }
  return out;
}

void KernelObservables::restore(const std::vector<Eigen::MatrixXd>& state) {
  std::size_t next = 0;
  for (Layer& layer : layers_) {
    layer.batches.restore(take(state, next, 2));
    layer.moments.restore(take(state, next, 4));
    restore_matrix(layer.summaries, take(state, next, 1).front());
    restore_matrix(layer.entry_draws, take(state, next, 1).front());
  }
  if (settings_.record_output) {
    output_batches_.restore(take(state, next, 2));
    output_moments_.restore(take(state, next, 4));
  }
  if (next != state.size()) throw DataError("kernel observables state: too many arrays");
}

void KernelObservables::save_state(core::BinaryWriter& out) const { out.matrices(state()); }

void KernelObservables::restore_state(core::BinaryReader& in) { restore(in.matrices()); }

void KernelObservables::record(Eigen::Index draw, const Eigen::Ref<const Eigen::VectorXd>& theta) {
  if (settings_.record_output) {
    network_.forward(theta);
    const Eigen::Map<const Eigen::VectorXd> f(network_.output().data(), network_.output().size());
    if (!f.allFinite()) throw NumericalError(draw_name(draw) + ": the network output F is not finite");
    output_batches_.add(draw, f);
    output_moments_.add(f);
  } else {
    network_.forward_hidden(theta);
  }
  for (Eigen::Index l = 2; l <= top_layer(); ++l) {
    Layer& layer = layers_[index(l)];
    network_.kernel_above(l - 1, kernel_);
    if (!kernel_.allFinite())
      throw NumericalError(draw_name(draw) + ": kernel C^(" + std::to_string(l) + ") is not finite");
    entries_ = core::upper_triangle(kernel_);
    layer.batches.add(draw, entries_);
    layer.moments.add(entries_);
    if (settings_.keep_entry_draws) layer.entry_draws.col(draw) = entries_;
    layer.summaries(draw, 0) = kernel_.trace();
    layer.summaries(draw, 1) = defined_[1] ? kernel_target_alignment(kernel_, targets_) : 0.0;
    layer.summaries(draw, 2) = defined_[2] ? centered_kernel_alignment(kernel_, targets_) : 0.0;
  }
}

namespace {

// Split R̂, bulk and tail ESS of every kernel entry of layer l, from the entry draws the
// chains kept (moved into layer.entry_draws).
void add_entry_diagnostics(LayerSummary& layer, std::vector<KernelObservables>& chains, Eigen::Index l,
                           Eigen::Index draws, Eigen::Index P) {
  const auto chain_count = static_cast<Eigen::Index>(chains.size());
  const Eigen::Index K = core::triangle_size(P);
  for (KernelObservables& c : chains) layer.entry_draws.push_back(c.take_entry_draws(l));
  Eigen::VectorXd rh(K), eb(K), et(K);
  // Entries are independent: any thread count gives the same values. The diagnostics
  // return NaN instead of throwing; an allocation failure is carried out (STYLE.md §4).
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(K));
#pragma omp parallel for schedule(dynamic, 8)
  for (Eigen::Index k = 0; k < K; ++k) {
    try {
      Eigen::MatrixXd series(draws, chain_count);
      for (Eigen::Index c = 0; c < chain_count; ++c)
        series.col(c) = layer.entry_draws[static_cast<std::size_t>(c)].row(k).transpose();
      rh(k) = rhat(series);
      eb(k) = ess_bulk(series);
      et(k) = ess_tail(series);
    } catch (...) {
      errors[static_cast<std::size_t>(k)] = std::current_exception();
    }
  }
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  layer.rhat = core::from_upper_triangle(rh, P);
  layer.ess_bulk = core::from_upper_triangle(eb, P);
  layer.ess_tail = core::from_upper_triangle(et, P);
}

// The scalar summaries of layer l (KernelSummaryKind), each over the draws of every chain.
void add_scalar_summaries(LayerSummary& layer, const std::vector<KernelObservables>& chains, Eigen::Index l,
                          Eigen::Index draws) {
  const KernelObservables& first = chains.front();
  const auto chain_count = static_cast<Eigen::Index>(chains.size());
  for (int s = 0; s < kKernelSummaryKinds; ++s) {
    const auto kind = static_cast<KernelSummaryKind>(s);
    if (!first.summary_defined(kind)) {
      ScalarSummary undefined;
      undefined.kind = kind;
      undefined.defined = false;
      layer.summaries.push_back(undefined);
      continue;
    }
    Eigen::MatrixXd series(draws, chain_count);
    for (Eigen::Index c = 0; c < chain_count; ++c)
      series.col(c) = chains[static_cast<std::size_t>(c)].summaries(l).col(s);
    layer.summaries.push_back(summarize_series(kind, std::move(series)));
  }
}

}  // namespace

KernelPosteriorSummary summarize_observables(std::vector<KernelObservables>& chains) {
  const KernelObservables& first = chains.front();
  const ObservableSettings& settings = first.settings();
  KernelPosteriorSummary out;
  out.chains = static_cast<Eigen::Index>(chains.size());
  out.draws_per_chain = settings.draws;
  out.batches_per_chain = settings.batches;
  out.batch_degrees_of_freedom = out.chains * settings.batches - 1;
  out.entry_draws_kept = settings.keep_entry_draws;
  const Eigen::Index P = first.points();
  out.points = P;
  const double n_total = static_cast<double>(out.chains * settings.draws);

  for (Eigen::Index l = 2; l <= first.top_layer(); ++l) {
    LayerSummary layer;
    layer.layer = l;
    std::vector<const BatchMeans*> batches;
    MeanCovarianceAccumulator moments;
    for (const KernelObservables& c : chains) {
      batches.push_back(&c.entry_batches(l));
      moments.merge(c.entry_moments(l));
    }
    const BatchMeansEstimate estimate = pool_batch_means(batches);
    const Eigen::VectorXd sd = moments.variance().cwiseSqrt();
    layer.mean = core::from_upper_triangle(estimate.mean, P);
    layer.mcse = core::from_upper_triangle(estimate.se, P);
    layer.sd = core::from_upper_triangle(sd, P);
    // τ̂ = n·SE²/Var; an entry with zero variance (a deterministic entry) has τ̂ = 0.
    const Eigen::VectorXd tau =
        (sd.array() > 0.0).select(n_total * estimate.se.cwiseAbs2().cwiseQuotient(sd.cwiseAbs2()), 0.0);
    layer.autocorrelation_time = core::from_upper_triangle(tau, P);

    if (settings.keep_entry_draws) add_entry_diagnostics(layer, chains, l, settings.draws, P);

    add_scalar_summaries(layer, chains, l, settings.draws);
    out.layers.push_back(std::move(layer));
  }

  if (settings.record_output) {
    std::vector<const BatchMeans*> batches;
    MeanCovarianceAccumulator moments;
    for (const KernelObservables& c : chains) {
      batches.push_back(&c.output_batches());
      moments.merge(c.output_moments());
    }
    const BatchMeansEstimate estimate = pool_batch_means(batches);
    const Eigen::Index D = estimate.mean.size() / P;
    out.output_mean = estimate.mean.reshaped(P, D);
    out.output_mcse = estimate.se.reshaped(P, D);
    out.output_sd = moments.variance().cwiseSqrt().reshaped(P, D);
  }
  return out;
}

}  // namespace kernelmc::sampling
