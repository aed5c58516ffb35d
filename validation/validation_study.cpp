#include "validation/validation_study.hpp"

#include <algorithm>
#include <boost/math/distributions/fisher_f.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <sstream>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "core/rng.hpp"
#include "sampling/chain_runner.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/diagnostics/ess.hpp"
#include "sampling/diagnostics/hmc_health.hpp"
#include "sampling/diagnostics/rhat.hpp"
#include "sampling/full_posterior.hpp"
#include "sampling/kernel_observables.hpp"
#include "sampling/prior_sampler.hpp"
#include "theory/deep_linear_posterior.hpp"
#include "theory/fb_solver.hpp"
#include "theory/one_loop.hpp"
#include "validation/comparison.hpp"
#include "validation/posterior_run.hpp"

namespace kernelmc::validation {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string number(double v, const char* format = "%.4g") {
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Batches of exact prior networks for the pooled accumulator (any B gives the same pooled
// moments up to rounding; fixed so that the records do not depend on a setting).
constexpr Eigen::Index kPriorBatches = 32;

core::ModelSpec spec_at_width(const core::Config& config, const core::Dataset& data, Eigen::Index width) {
  core::ModelSettings model = config.model;
  model.widths = {width};
  return core::resolve_model(model, data.input_dim(), data.output_dim());
}

sampling::ChainSettings chain_settings(const core::Config& config, Eigen::Index width, Eigen::Index first,
                                       Eigen::Index count) {
  const core::PosteriorSettings& p = config.posterior;
  return {.chains = count,
          .warmup = p.warmup,
          .draws = p.draws,
          .thin = p.thin,
          .seed = config.run.seed,
          .stream_width = static_cast<std::uint64_t>(width),
          .first_chain = first};
}

PriorRecord compute_prior_record(const core::Config& config, const core::Dataset& data, Eigen::Index width,
                                 Observer& observer) {
  const auto start = Clock::now();
  const core::ModelSpec spec = spec_at_width(config, data, width);
  const sampling::PriorSamplingSettings settings{.networks = config.validation.prior_networks,
                                                 .batches = std::min(kPriorBatches, config.validation.prior_networks),
                                                 .seed = config.run.seed,
                                                 .track_covariance = true};
  observer.begin_stage("prior N=" + std::to_string(width), settings.networks);
  const sampling::PriorKernelStatistics stats = sampling::sample_prior_statistics(
      spec, data.inputs, settings, [&observer](Eigen::Index done) { observer.advance(done); });
  observer.end_stage();
  PriorRecord r;
  r.width = width;
  r.networks = stats.networks;
  for (Eigen::Index l = 2; l <= stats.top_layer(); ++l) {
    const sampling::MeanCovarianceAccumulator pooled = stats.pooled(l);
    r.mean.push_back(pooled.mean());
    r.covariance.push_back(pooled.covariance());
  }
  r.seconds = seconds_since(start);
  return r;
}

// Chains first..first+count−1 of one width.
std::vector<ChainRecord> compute_chain_records(const core::Config& config, const core::Dataset& data,
                                               Eigen::Index width, Eigen::Index first, Eigen::Index count,
                                               Observer& observer) {
  const core::ModelSpec spec = spec_at_width(config, data, width);
  const sampling::ChainSettings cs = chain_settings(config, width, first, count);
  const bool collapsed = config.posterior.form == core::PosteriorForm::collapsed;
  const sampling::ObservableSettings observable_settings{.draws = config.posterior.draws,
                                                         .batches = config.posterior.batches,
                                                         .keep_entry_draws = false,
                                                         .record_output = !collapsed};
  std::vector<sampling::KernelObservables> observables;
  observables.reserve(static_cast<std::size_t>(count));
  for (Eigen::Index c = 0; c < count; ++c) observables.emplace_back(spec, data, observable_settings);
  std::vector<sampling::DrawRecorder*> recorders;
  for (auto& o : observables) recorders.push_back(&o);
  std::unique_ptr<sampling::Potential> target;
  if (collapsed)
    target = std::make_unique<sampling::CollapsedPosterior>(spec, data);
  else
    target = std::make_unique<sampling::FullPosterior>(spec, data);

  observer.begin_stage("chains N=" + std::to_string(width), sampling::total_transitions(cs));
  const std::vector<sampling::ChainResult> results = sampling::run_chains(
      *target, config.sampler, cs, recorders, [&observer](std::int64_t done) { observer.advance(done); });
  observer.end_stage();

  std::vector<ChainRecord> out;
  for (Eigen::Index c = 0; c < count; ++c) {
    const sampling::KernelObservables& o = observables[static_cast<std::size_t>(c)];
    const sampling::ChainResult& r = results[static_cast<std::size_t>(c)];
    ChainRecord rec;
    rec.width = width;
    rec.chain = r.chain;
    for (Eigen::Index l = 2; l <= o.top_layer(); ++l) {
      rec.batch_means.push_back(o.entry_batches(l).means());
      rec.summaries.push_back(o.summaries(l));
    }
    rec.batch_sizes = o.entry_batches(2).sizes().cast<double>();
    for (int s = 0; s < sampling::kKernelSummaryKinds; ++s)
      rec.summary_defined[static_cast<std::size_t>(s)] = o.summary_defined(static_cast<sampling::KernelSummaryKind>(s));
    rec.step_size = r.step_size;
    rec.mean_accept_stat = r.mean_accept_stat;
    rec.sampling_transitions = r.sampling_transitions;
    rec.divergences = r.sampling_divergences;
    rec.warmup_divergences = r.warmup_divergences;
    rec.max_tree_depth_hits = r.max_tree_depth_hits;
    rec.gradient_evaluations = static_cast<double>(r.gradient_evaluations);
    rec.energy = r.energy;
    rec.seconds = r.warmup_seconds + r.sampling_seconds;
    out.push_back(std::move(rec));
  }
  return out;
}

// ---------------------------------------------------------------- analysis helpers

// The batch means of several chains pooled (sampling/kernel_observables.hpp): x̄ = Σ n_j m_j/n
// and the covariance of x̄, Σ_j n_j (m_j − x̄)(m_j − x̄)ᵀ / ((J − 1) n), J = Σ batches.
struct PooledMean {
  Eigen::VectorXd mean;
  Eigen::MatrixXd covariance;  // of the mean
  Eigen::Index degrees_of_freedom = 0;  // J − 1
};

PooledMean pool_chains(const std::vector<const ChainRecord*>& chains, std::size_t layer_index) {
  const Eigen::Index K = chains.front()->batch_means[layer_index].rows();
  PooledMean out;
  out.mean = Eigen::VectorXd::Zero(K);
  double n = 0.0;
  Eigen::Index J = 0;
  for (const ChainRecord* c : chains) {
    const Eigen::MatrixXd& m = c->batch_means[layer_index];
    out.mean.noalias() += m * c->batch_sizes;
    n += c->batch_sizes.sum();
    J += m.cols();
  }
  out.mean /= n;
  out.covariance = Eigen::MatrixXd::Zero(K, K);
  for (const ChainRecord* c : chains) {
    const Eigen::MatrixXd centred = c->batch_means[layer_index].colwise() - out.mean;
    out.covariance.noalias() += centred * c->batch_sizes.asDiagonal() * centred.transpose();
  }
  out.degrees_of_freedom = J - 1;
  out.covariance /= static_cast<double>(J - 1) * n;
  return out;
}

// Weights of D² = Σ_ab e_ab² over the upper triangle: 1 on the diagonal, 2 off it.
Eigen::VectorXd triangle_weights(Eigen::Index P) {
  Eigen::VectorXd w(core::triangle_size(P));
  for (Eigen::Index k = 0; k < w.size(); ++k) {
    const auto [a, b] = core::triangle_pair(k, P);
    w(k) = a == b ? 1.0 : 2.0;
  }
  return w;
}

// u with uᵀx = ⟨X, YYᵀ⟩/‖Y‖²_F for x = upper_triangle(X).
Eigen::VectorXd target_functional(const Eigen::MatrixXd& Y) {
  const Eigen::MatrixXd T = Y * Y.transpose() / Y.squaredNorm();
  return triangle_weights(Y.rows()).cwiseProduct(core::upper_triangle(T));
}

// CKA with YYᵀ of a kernel given by its upper triangle.
double cka_of(const Eigen::VectorXd& entries, const Eigen::MatrixXd& Y) {
  return sampling::centered_kernel_alignment(core::from_upper_triangle(entries, Y.rows()), Y);
}

// The delta-method SE of CKA(C) with a numerical gradient (central differences, step
// 1e-6 of the kernel scale: the truncation error ~1e-12 relative is far below the SE).
double cka_standard_error(const Eigen::VectorXd& entries, const Eigen::MatrixXd& covariance, const Eigen::MatrixXd& Y) {
  const double h = 1e-6 * std::max(entries.cwiseAbs().maxCoeff(), 1e-300);
  Eigen::VectorXd grad(entries.size());
  Eigen::VectorXd x = entries;
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    x(k) = entries(k) + h;
    const double up = cka_of(x, Y);
    x(k) = entries(k) - h;
    const double down = cka_of(x, Y);
    x(k) = entries(k);
    grad(k) = (up - down) / (2.0 * h);
  }
  return std::sqrt(std::max(grad.dot(covariance * grad), 0.0));
}

// Excess Frobenius discrepancy √max(D² − E[noise²], 0) and D itself.
struct Frobenius {
  double D = 0.0, noise = 0.0, excess = 0.0;
};
Frobenius frobenius(const Eigen::VectorXd& e, const Eigen::MatrixXd& covariance, const Eigen::VectorXd& w) {
  Frobenius f;
  const double D2 = w.dot(e.cwiseAbs2());
  const double noise2 = w.dot(covariance.diagonal());
  f.D = std::sqrt(D2);
  f.noise = std::sqrt(std::max(noise2, 0.0));
  f.excess = std::sqrt(std::max(D2 - noise2, 0.0));
  return f;
}

struct Estimate {
  Eigen::VectorXd entries;     // upper triangle
  Eigen::MatrixXd covariance;  // of the entries
  Eigen::Index dof = 0;        // of the covariance estimate (posterior batch means)
};

struct Prediction {
  std::string theory;
  std::string quantity;  // posterior_mean | adaptation
  Eigen::MatrixXd value;
  Eigen::MatrixXd standard_error;  // of the theory (Monte Carlo or quadrature), entrywise
  double reference_norm = 1.0;     // for `relative`
};

TheoryComparison compare_prediction(const Estimate& est, const Prediction& pred, double alpha, double width,
                                    const Eigen::MatrixXd& Y) {
  const Eigen::Index P = pred.value.rows();
  const Eigen::Index K = core::triangle_size(P);
  const Eigen::VectorXd w = triangle_weights(P);
  TheoryComparison c;
  c.theory = pred.theory;
  c.quantity = pred.quantity;
  c.prediction = pred.value;
  c.prediction_se = pred.standard_error;
  c.entries = K;
  const Eigen::VectorXd e = est.entries - core::upper_triangle(pred.value);
  Eigen::MatrixXd cov = est.covariance;
  cov.diagonal() += core::upper_triangle(pred.standard_error).cwiseAbs2();

  const Frobenius f = frobenius(e, cov, w);
  c.frobenius = f.D;
  c.noise_frobenius = f.noise;
  c.excess_frobenius = f.excess;
  // δD = Σ_k (w_k e_k / D) δe_k.
  if (f.D > 0.0) {
    const Eigen::VectorXd g = w.cwiseProduct(e) / f.D;
    c.frobenius_se = std::sqrt(std::max(g.dot(cov * g), 0.0));
  } else {
    c.frobenius_se = f.noise;
  }
  c.relative = f.D / pred.reference_norm;
  c.relative_se = c.frobenius_se / pred.reference_norm;

  const Eigen::VectorXd se = cov.diagonal().cwiseMax(0.0).cwiseSqrt();
  Eigen::VectorXd z(K);
  for (Eigen::Index k = 0; k < K; ++k) z(k) = se(k) > 0.0 ? e(k) / se(k) : 0.0;
  c.z = core::from_upper_triangle(z, P);
  c.max_abs_z = z.cwiseAbs().maxCoeff();
  c.bonferroni_z = bonferroni_z(alpha, K);

  const ChiSquareTest chi = chi_square_test(e, cov);
  c.chi_square = chi.statistic;
  c.chi_square_rank = chi.dof;
  const double nu = static_cast<double>(est.dof), k = chi.dof;
  if (k >= 1.0 && nu - k + 1.0 >= 1.0) {
    const double F = chi.statistic * (nu - k + 1.0) / (nu * k);
    const boost::math::fisher_f dist(k, nu - k + 1.0);
    c.p_value = boost::math::cdf(boost::math::complement(dist, F));
    c.test_defined = true;
    c.consistent = c.p_value >= alpha;
  } else {
    c.p_value = std::numeric_limits<double>::quiet_NaN();
    c.consistent = c.max_abs_z <= c.bonferroni_z;
  }
  if (pred.quantity == "adaptation")
    c.target_adaptation = width * target_functional(Y).dot(core::upper_triangle(pred.value));
  else
    c.cka = sampling::centered_kernel_alignment(pred.value, Y);
  return c;
}

WidthGate width_gate(const std::vector<const ChainRecord*>& chains, const core::PosteriorSettings& posterior) {
  WidthGate g;
  g.passed = true;
  g.min_ess_bulk = std::numeric_limits<double>::infinity();
  bool rhat_failed = false;
  const std::size_t layers = chains.front()->summaries.size();
  const Eigen::Index draws = chains.front()->summaries.front().rows();
  const auto C = static_cast<Eigen::Index>(chains.size());
  for (std::size_t li = 0; li < layers; ++li) {
    for (int s = 0; s < sampling::kKernelSummaryKinds; ++s) {
      if (!chains.front()->summary_defined[static_cast<std::size_t>(s)]) continue;
      Eigen::MatrixXd series(draws, C);
      for (Eigen::Index c = 0; c < C; ++c) series.col(c) = chains[static_cast<std::size_t>(c)]->summaries[li].col(s);
      const double r = sampling::rhat(series), e = sampling::ess_bulk(series);
      const std::string name = "layer " + std::to_string(li + 2) + " " +
                               std::string(sampling::kernel_summary_name(static_cast<sampling::KernelSummaryKind>(s)));
      if (std::isnan(r) || std::isnan(e)) {
        g.failures.push_back(name + ": R-hat or bulk ESS undefined (constant or non-finite draws)");
        g.passed = false;
        rhat_failed = true;
        continue;
      }
      g.worst_rhat = std::max(g.worst_rhat, r);
      g.min_ess_bulk = std::min(g.min_ess_bulk, e);
      if (r >= kMaxRhat) {
        g.failures.push_back(name + ": R-hat " + number(r) + " >= " + number(kMaxRhat));
        g.passed = false;
        rhat_failed = true;
      } else if (e < kMinEssBulk) {
        g.failures.push_back(name + ": bulk ESS " + number(e, "%.0f") + " < " + number(kMinEssBulk, "%.0f"));
        g.passed = false;
      }
    }
  }
  if (!std::isfinite(g.min_ess_bulk)) g.min_ess_bulk = 0.0;
  if (g.failures.empty() && layers == 0) {
    g.passed = false;
    g.failures.push_back("no defined summary to check");
  }
  if (!g.passed) {
    // ESS grows linearly with the draws: draws·400/ESS_min, with a 20 % margin.
    double factor = g.min_ess_bulk > 0.0 ? 1.2 * kMinEssBulk / g.min_ess_bulk : 2.0;
    if (rhat_failed) factor = std::max(factor, 2.0);
    factor = std::max(factor, 1.2);
    g.suggested_draws = static_cast<Eigen::Index>(std::ceil(factor * static_cast<double>(posterior.draws)));
    g.suggested_warmup = rhat_failed ? 2 * posterior.warmup : posterior.warmup;
    std::ostringstream advice;
    advice << g.failures.front();
    if (g.failures.size() > 1) advice << " (and " << g.failures.size() - 1 << " more)";
    advice << "; bulk ESS " << number(g.min_ess_bulk, "%.0f") << " from " << posterior.draws
           << " draws per chain: run posterior.draws = " << g.suggested_draws;
    if (rhat_failed) advice << " and posterior.warmup = " << g.suggested_warmup;
    g.advice = advice.str();
  }
  return g;
}

Estimate posterior_estimate(const std::vector<const ChainRecord*>& chains, std::size_t li) {
  const PooledMean pm = pool_chains(chains, li);
  return {pm.mean, pm.covariance, pm.degrees_of_freedom};
}

Estimate adaptation_estimate(const Estimate& post, const PriorRecord& prior, std::size_t li) {
  Estimate a = post;
  a.entries -= prior.mean[li];
  a.covariance += prior.covariance[li] / static_cast<double>(prior.networks);
  return a;
}

// The predictions at one width for every layer.
struct WidthTheory {
  std::vector<std::vector<Prediction>> layers;  // [l−2]
  std::string fb_method;
  double seconds = 0.0;
};

Eigen::MatrixXd root_sum_square(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return (a.cwiseAbs2() + b.cwiseAbs2()).cwiseSqrt();
}

WidthTheory width_theory(const core::Config& config, const core::Dataset& data, Eigen::Index width, bool exact_linear) {
  const auto start = Clock::now();
  const core::ModelSpec spec = spec_at_width(config, data, width);
  const theory::OneLoopPrediction ol = theory::one_loop_prediction(spec, data, config.theory, config.run.seed);
  const theory::FbSolution fb = theory::solve_fb(spec, data, config.fb);
  std::unique_ptr<theory::OneHiddenLayerPosterior> exact;
  if (exact_linear) {
    exact = std::make_unique<theory::OneHiddenLayerPosterior>(
        theory::one_hidden_layer_posterior(spec, ol.nngp.layer(1), data.targets.col(0)));
  }
  WidthTheory out;
  out.fb_method = std::string(core::tilt_method_name(fb.method));
  const Eigen::Index P = data.size();
  const Eigen::MatrixXd zero = Eigen::MatrixXd::Zero(P, P);
  for (Eigen::Index l = 2; l <= spec.depth() + 1; ++l) {
    const double gp_norm = ol.nngp.layer(l).norm();
    const double dc_norm = ol.adaptation.layer(l).norm() > 0.0 ? ol.adaptation.layer(l).norm() : 1.0;
    const Eigen::MatrixXd& mu_se = ol.mean_shift_standard_error.layer(l);
    std::vector<Prediction> preds;
    preds.push_back({"nngp", "posterior_mean", ol.nngp.layer(l), zero, gp_norm});
    preds.push_back({"one_loop", "posterior_mean", ol.posterior_mean.layer(l),
                     root_sum_square(ol.adaptation_standard_error.layer(l), mu_se), gp_norm});
    preds.push_back({"fb", "posterior_mean", fb.kernels.layer(l) + ol.mean_shift.layer(l),
                     root_sum_square(fb.kernel_errors.layer(l), mu_se), gp_norm});
    if (exact && l == 2) {
      const Eigen::MatrixXd err = Eigen::MatrixXd::Constant(P, P, exact->kernel_error);
      preds.push_back({"exact_linear", "posterior_mean", exact->mean_kernel, err, gp_norm});
    }
    // The NNGP has no adaptation: its posterior kernels are the prior's (THEORY.md §2).
    preds.push_back({"nngp", "adaptation", zero, zero, dc_norm});
    preds.push_back({"one_loop", "adaptation", ol.adaptation.layer(l), ol.adaptation_standard_error.layer(l), dc_norm});
    preds.push_back({"fb", "adaptation", fb.kernels.layer(l) - fb.nngp.layer(l), fb.kernel_errors.layer(l), dc_norm});
    if (exact && l == 2) {
      // Linear networks: E_prior[C^(2)] = C_GP^(2) exactly (μ = 0, THEORY.md §3.2).
      const Eigen::MatrixXd err = Eigen::MatrixXd::Constant(P, P, exact->kernel_error);
      preds.push_back({"exact_linear", "adaptation", exact->mean_kernel - ol.nngp.layer(2), err, dc_norm});
    }
    out.layers.push_back(std::move(preds));
  }
  out.seconds = seconds_since(start);
  return out;
}

// Type-7 sample quantile of sorted values.
double quantile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double h = (static_cast<double>(sorted.size()) - 1.0) * p;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

std::string verdict_text(const TheoryScaling& s, const std::vector<Eigen::Index>& compared) {
  std::ostringstream v;
  if (compared.empty()) return "not compared: no width passed the convergence gate";
  const std::string slope =
      s.fit.valid() ? "slope b = " + number(s.fit.exponent, "%.2f") + " +- " + number(s.fit.exponent_se, "%.2f") +
                          (s.bootstrap_valid > 0 ? " (bootstrap [" + number(s.bootstrap_low, "%.2f") + ", " +
                                                       number(s.bootstrap_high, "%.2f") + "])"
                                                 : std::string())
                    : std::string();
  if (s.consistent_from == compared.front()) {
    v << "consistent within MC error at every compared width (N >= " << compared.front() << ")";
  } else if (s.consistent_from > 0) {
    v << "consistent within MC error for N >= " << s.consistent_from;
    if (!slope.empty()) v << "; discrepancy " << slope;
  } else {
    v << "deviates at N = " << compared.back() << "; " << (slope.empty() ? "slope not resolved" : slope);
  }
  return v.str();
}

// The three estimates of one layer at one width, whatever route produced them.
struct LayerEstimates {
  Estimate posterior;   // E_post[C^(l)]
  Estimate prior;       // E_prior[C^(l)]
  Estimate adaptation;  // ΔC^(l)
};

// Chains and an independent prior record: ΔC's covariance is the sum of the two.
LayerEstimates chain_estimates(const std::vector<const ChainRecord*>& chains, const PriorRecord& prior,
                               std::size_t li) {
  LayerEstimates e;
  e.posterior = posterior_estimate(chains, li);
  e.adaptation = adaptation_estimate(e.posterior, prior, li);
  e.prior = {prior.mean[li], prior.covariance[li] / static_cast<double>(prior.networks), prior.networks - 1};
  return e;
}

// Importance or SMC: prior and posterior from the same draws, ΔC's covariance from the
// replicates of the difference itself.
LayerEstimates route_estimates(const RouteLayerEstimate& r) {
  return {{r.posterior, r.posterior_covariance, r.degrees_of_freedom},
          {r.prior, r.prior_covariance, r.degrees_of_freedom},
          {r.adaptation, r.adaptation_covariance, r.degrees_of_freedom}};
}

Eigen::MatrixXd standard_errors(const Estimate& e, Eigen::Index P) {
  return core::from_upper_triangle(e.covariance.diagonal().cwiseMax(0.0).cwiseSqrt(), P);
}

// The measured side of a LayerValidation (no comparisons yet).
LayerValidation layer_validation(const LayerEstimates& e, Eigen::Index l, Eigen::Index P, double N,
                                 const Eigen::VectorXd& u_target, const Eigen::MatrixXd& Y) {
  LayerValidation lv;
  lv.layer = l;
  lv.posterior_mean = core::from_upper_triangle(e.posterior.entries, P);
  lv.posterior_mean_se = standard_errors(e.posterior, P);
  lv.prior_mean = core::from_upper_triangle(e.prior.entries, P);
  lv.prior_mean_se = standard_errors(e.prior, P);
  lv.adaptation = core::from_upper_triangle(e.adaptation.entries, P);
  lv.adaptation_se = standard_errors(e.adaptation, P);
  lv.target_adaptation = N * u_target.dot(e.adaptation.entries);
  lv.target_adaptation_se = N * std::sqrt(std::max(u_target.dot(e.adaptation.covariance * u_target), 0.0));
  lv.cka = cka_of(e.posterior.entries, Y);
  lv.cka_se = cka_standard_error(e.posterior.entries, e.posterior.covariance, Y);
  return lv;
}

// Gate and sampler health of a chain width.
void summarize_chain_width(const std::vector<const ChainRecord*>& cs, const PriorRecord& prior,
                           const core::PosteriorSettings& posterior, WidthValidation& w) {
  w.gate = width_gate(cs, posterior);
  double accept = 0.0, transitions = 0.0;
  w.min_e_bfmi = std::numeric_limits<double>::infinity();
  for (const ChainRecord* c : cs) {
    accept += c->mean_accept_stat * static_cast<double>(c->sampling_transitions);
    transitions += static_cast<double>(c->sampling_transitions);
    w.divergences += c->divergences;
    w.max_tree_depth_hits += c->max_tree_depth_hits;
    w.gradient_evaluations += c->gradient_evaluations;
    w.sampling_seconds += c->seconds;
    const double bfmi = sampling::e_bfmi(c->energy);
    w.min_e_bfmi = std::isnan(bfmi) ? 0.0 : std::min(w.min_e_bfmi, bfmi);
  }
  w.mean_accept_stat = transitions > 0.0 ? accept / transitions : 0.0;
  w.prior_seconds = prior.seconds;
  w.log_evidence = w.log_evidence_error = w.nngp_log_evidence = std::numeric_limits<double>::quiet_NaN();
  w.pareto_k = w.effective_sample_size = std::numeric_limits<double>::quiet_NaN();
}

// Gate and diagnostics of an importance or SMC width: it passes unless the importance
// weights were not to be trusted (k-hat > 0.7) and no SMC run replaced them.
void summarize_route_width(const RouteRecord& r, WidthValidation& w) {
  w.route = r.route;
  w.gate.passed = r.trusted;
  if (!r.trusted) {
    w.gate.failures.push_back(r.warning);
    w.gate.advice = r.warning;
  }
  w.gate.worst_rhat = w.gate.min_ess_bulk = std::numeric_limits<double>::quiet_NaN();
  w.mean_accept_stat = r.mean_acceptance;
  w.min_e_bfmi = std::numeric_limits<double>::quiet_NaN();
  w.sampling_seconds = r.seconds;
  w.log_evidence = r.log_evidence;
  w.log_evidence_error = r.log_evidence_error;
  w.nngp_log_evidence = r.nngp_log_evidence;
  w.pareto_k = r.pareto_k;
  w.effective_sample_size = r.effective_sample_size;
  w.route_warning = r.warning;
}

}  // namespace

// ---------------------------------------------------------------- units and records

std::string unit_name(const StudyUnit& unit) {
  if (unit.kind == StudyUnitKind::prior) return "prior N=" + std::to_string(unit.width);
  if (unit.kind == StudyUnitKind::route) return "route N=" + std::to_string(unit.width);
  return "chain N=" + std::to_string(unit.width) + " c=" + std::to_string(unit.chain);
}

std::vector<StudyUnit> study_units(const core::Config& config) {
  std::vector<StudyUnit> units;
  for (const Eigen::Index N : config.validation.widths) {
    if (!route_uses_chains(config.posterior.route)) {
      units.push_back({StudyUnitKind::route, N, -1});
      continue;
    }
    units.push_back({StudyUnitKind::prior, N, -1});
    for (Eigen::Index c = 0; c < config.posterior.chains; ++c) units.push_back({StudyUnitKind::chain, N, c});
  }
  return units;
}

std::vector<StudyUnit> shard_units(const std::vector<StudyUnit>& units, Eigen::Index index, Eigen::Index count) {
  const auto U = static_cast<Eigen::Index>(units.size());
  if (count < 1 || index < 1 || index > count || count > U)
    throw ConfigError("--shard " + std::to_string(index) + "/" + std::to_string(count) +
                      ": must be k/K with 1 <= k <= K <= " + std::to_string(U) + " (the study's units)");
  const Eigen::Index begin = (index - 1) * U / count, end = index * U / count;
  return {units.begin() + begin, units.begin() + end};
}

StudyRecords compute_records(const core::Config& config, const core::Dataset& data,
                             const std::vector<StudyUnit>& units, Observer& observer) {
  core::validate(config);
  core::validate(data);
  const std::vector<StudyUnit> all = study_units(config);
  std::vector<bool> wanted(all.size(), false);
  for (const StudyUnit& u : units) {
    const auto it = std::find(all.begin(), all.end(), u);
    if (it == all.end()) throw ConfigError(unit_name(u) + ": not a unit of this study");
    wanted[static_cast<std::size_t>(it - all.begin())] = true;
  }
  StudyRecords out;
  out.config = config;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (wanted[i]) out.units.push_back(all[i]);
  }
  std::size_t i = 0;
  while (i < all.size()) {
    const StudyUnit& u = all[i];
    if (!wanted[i]) {
      ++i;
      continue;
    }
    if (u.kind == StudyUnitKind::prior) {
      out.priors.push_back(compute_prior_record(config, data, u.width, observer));
      ++i;
      continue;
    }
    if (u.kind == StudyUnitKind::route) {
      out.routes.push_back(route_record(run_posterior_route(config, config.posterior.route, data, u.width, observer)));
      ++i;
      continue;
    }
    // A run of consecutive wanted chains of one width: one run_chains call.
    std::size_t j = i;
    while (j < all.size() && wanted[j] && all[j].kind == StudyUnitKind::chain && all[j].width == u.width) ++j;
    std::vector<ChainRecord> chains =
        compute_chain_records(config, data, u.width, u.chain, static_cast<Eigen::Index>(j - i), observer);
    for (ChainRecord& c : chains) out.chains.push_back(std::move(c));
    i = j;
  }
  return out;
}

StudyRecords merge_records(const std::vector<StudyRecords>& parts) {
  if (parts.empty()) throw DataError("merge: no parts to merge");
  StudyRecords out;
  out.config = parts.front().config;
  // run.output_dir (each shard writes its own) and run.threads (results never depend on
  // it) may differ between parts; every other setting must agree.
  const auto comparable = [](core::Config c) {
    c.run.output_dir.clear();
    c.run.threads = 0;
    return c;
  };
  for (std::size_t p = 1; p < parts.size(); ++p) {
    if (!(comparable(parts[p].config) == comparable(out.config)))
      throw DataError("merge: part " + std::to_string(p + 1) + " was run with a different config than part 1");
  }
  const std::vector<StudyUnit> all = study_units(out.config);
  std::vector<int> seen(all.size(), 0);
  for (const StudyRecords& part : parts) {
    for (const StudyUnit& u : part.units) {
      const auto it = std::find(all.begin(), all.end(), u);
      if (it == all.end()) throw DataError("merge: " + unit_name(u) + " is not a unit of this study");
      if (++seen[static_cast<std::size_t>(it - all.begin())] > 1)
        throw DataError("merge: " + unit_name(u) + " is present more than once");
    }
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (seen[i] == 0) throw DataError("merge: " + unit_name(all[i]) + " is missing");
  }
  out.units = all;
  // Records in study order: priors by width, chains by (width, chain).
  for (const StudyUnit& u : all) {
    for (const StudyRecords& part : parts) {
      if (u.kind == StudyUnitKind::prior) {
        for (const PriorRecord& r : part.priors)
          if (r.width == u.width) out.priors.push_back(r);
      } else if (u.kind == StudyUnitKind::route) {
        for (const RouteRecord& r : part.routes)
          if (r.width == u.width) out.routes.push_back(r);
      } else {
        for (const ChainRecord& r : part.chains)
          if (r.width == u.width && r.chain == u.chain) out.chains.push_back(r);
      }
    }
  }
  if (out.priors.size() + out.chains.size() + out.routes.size() != all.size())
    throw DataError("merge: the parts' records do not match their unit lists");
  return out;
}

// ---------------------------------------------------------------- analysis

ValidationResult analyze_records(const StudyRecords& records, const core::Dataset& data, Observer& observer) {
  const auto start = Clock::now();
  const core::Config& config = records.config;
  core::validate(config);
  core::validate(data);
  ValidationResult result;
  result.config = config;
  result.dataset_name = data.name;
  result.points = data.size();
  const Eigen::Index P = data.size();
  const double alpha = config.validation.false_alarm_rate;
  const core::ModelSpec spec0 = spec_at_width(config, data, config.validation.widths.front());
  const Eigen::Index L = spec0.depth();
  result.exact_linear_available = config.model.activation == core::Activation::linear && L == 1 &&
                                  data.output_dim() == 1;
  const Eigen::MatrixXd& Y = data.targets;
  const Eigen::VectorXd u_target = target_functional(Y);

  // Records by width.
  std::map<Eigen::Index, const PriorRecord*> priors;
  std::map<Eigen::Index, std::vector<const ChainRecord*>> chains;
  std::map<Eigen::Index, const RouteRecord*> routes;
  for (const PriorRecord& r : records.priors) priors[r.width] = &r;
  for (const ChainRecord& r : records.chains) chains[r.width].push_back(&r);
  for (const RouteRecord& r : records.routes) routes[r.width] = &r;
  const bool by_route = !route_uses_chains(config.posterior.route);
  for (const Eigen::Index N : config.validation.widths) {
    const bool complete = by_route ? routes.count(N) == 1
                                   : priors.count(N) == 1 &&
                                         static_cast<Eigen::Index>(chains[N].size()) == config.posterior.chains;
    if (!complete) throw DataError("analysis: the records of width " + std::to_string(N) + " are incomplete");
    std::sort(chains[N].begin(), chains[N].end(),
              [](const ChainRecord* a, const ChainRecord* b) { return a->chain < b->chain; });
  }

  observer.begin_stage("theory", static_cast<std::int64_t>(config.validation.widths.size()));
  std::vector<WidthTheory> theories;
  std::int64_t done = 0;
  for (const Eigen::Index N : config.validation.widths) {
    WidthValidation w;
    w.width = N;
    if (by_route) {
      summarize_route_width(*routes[N], w);
    } else {
      summarize_chain_width(chains[N], *priors[N], config.posterior, w);
    }
    w.compared = w.gate.passed;

    WidthTheory th;
    if (w.compared) {
      th = width_theory(config, data, N, result.exact_linear_available);
      w.theory_seconds = th.seconds;
      w.fb_method = th.fb_method;
    }
    for (Eigen::Index l = 2; l <= L + 1; ++l) {
      const auto li = static_cast<std::size_t>(l - 2);
      const LayerEstimates est = by_route ? route_estimates(routes[N]->layers[li])
                                          : chain_estimates(chains[N], *priors[N], li);
      LayerValidation lv = layer_validation(est, l, P, static_cast<double>(N), u_target, Y);
      if (w.compared) {
        for (const Prediction& pred : th.layers[li]) {
          const Estimate& e = pred.quantity == "adaptation" ? est.adaptation : est.posterior;
          lv.comparisons.push_back(compare_prediction(e, pred, alpha, static_cast<double>(N), Y));
        }
      }
      w.layers.push_back(std::move(lv));
    }
    theories.push_back(std::move(th));
    result.widths.push_back(std::move(w));
    observer.advance(++done);
  }
  observer.end_stage();

  // Width scaling per (layer, theory, quantity) over the compared widths.
  std::vector<std::size_t> compared_index;
  std::vector<Eigen::Index> compared;
  for (std::size_t i = 0; i < result.widths.size(); ++i) {
    if (result.widths[i].compared) {
      compared_index.push_back(i);
      compared.push_back(result.widths[i].width);
    }
  }
  if (compared_index.empty()) {
    result.analysis_seconds = seconds_since(start);
    return result;
  }
  // Comparisons of layer l at every compared width, in the same order.
  std::vector<std::size_t> per_layer;
  for (const LayerValidation& lv : result.widths[compared_index.front()].layers) per_layer.push_back(lv.comparisons.size());
  // Bootstrap over chains: replicate b resamples the C chains of each compared width with
  // replacement (stream make_stream(seed, bootstrap, 0, b)) and refits every exponent.
  const Eigen::Index B = config.validation.bootstrap_resamples;
  // exponents[li][t]: the valid bootstrap exponents of comparison t of layer l.
  std::vector<std::vector<std::vector<double>>> exponents(per_layer.size());
  for (std::size_t li = 0; li < per_layer.size(); ++li) exponents[li].resize(per_layer[li]);
  if (compared.size() >= 3 && B > 0) {
    const Eigen::Index C = config.posterior.chains;
    const std::vector<double> N(compared.begin(), compared.end());
    const Eigen::VectorXd wts = triangle_weights(P);
    // fits[b][li][t]: exponent of replicate b, NaN if its fit is not valid.
    std::vector<std::vector<std::vector<double>>> fits(static_cast<std::size_t>(B));
#pragma omp parallel for schedule(dynamic, 16)
    for (Eigen::Index b = 0; b < B; ++b) {
      core::Engine engine =
          core::make_stream(config.run.seed, core::StreamPurpose::bootstrap, 0, static_cast<std::uint64_t>(b));
      boost::random::uniform_int_distribution<Eigen::Index> pick(0, C - 1);
      // values[li][t][width], errors likewise.
      std::vector<std::vector<std::vector<double>>> values(per_layer.size()), errors(per_layer.size());
      for (std::size_t li = 0; li < per_layer.size(); ++li) {
        values[li].resize(per_layer[li]);
        errors[li].resize(per_layer[li]);
      }
      for (const std::size_t wi : compared_index) {
        const WidthValidation& w = result.widths[wi];
        std::vector<const ChainRecord*> resampled;
        std::vector<Eigen::Index> replicates;
        if (by_route) {
          const Eigen::Index R = routes.at(w.width)->posterior_replicates.front().cols();
          boost::random::uniform_int_distribution<Eigen::Index> pick_replicate(0, R - 1);
          for (Eigen::Index r = 0; r < R; ++r) replicates.push_back(pick_replicate(engine));
        } else {
          const auto& cs = chains.at(w.width);
          for (Eigen::Index c = 0; c < C; ++c) resampled.push_back(cs[static_cast<std::size_t>(pick(engine))]);
        }
        for (std::size_t li = 0; li < per_layer.size(); ++li) {
          const LayerEstimates le = by_route ? route_estimates(resampled_route_estimate(*routes.at(w.width), li, replicates))
                                             : chain_estimates(resampled, *priors.at(w.width), li);
          for (std::size_t t = 0; t < per_layer[li]; ++t) {
            const TheoryComparison& tc = w.layers[li].comparisons[t];
            const Estimate& est = tc.quantity == "adaptation" ? le.adaptation : le.posterior;
            const Eigen::VectorXd e = est.entries - core::upper_triangle(tc.prediction);
            Eigen::MatrixXd cov = est.covariance;
            cov.diagonal() += core::upper_triangle(tc.prediction_se).cwiseAbs2();
            values[li][t].push_back(frobenius(e, cov, wts).excess);
            errors[li][t].push_back(tc.frobenius_se);
          }
        }
      }
      auto& fit_b = fits[static_cast<std::size_t>(b)];
      fit_b.resize(per_layer.size());
      for (std::size_t li = 0; li < per_layer.size(); ++li) {
        for (std::size_t t = 0; t < per_layer[li]; ++t) {
          const PowerLawFit fit = fit_power_law(N, values[li][t], errors[li][t]);
          fit_b[li].push_back(fit.valid() ? fit.exponent : std::numeric_limits<double>::quiet_NaN());
        }
      }
    }
    for (Eigen::Index b = 0; b < B; ++b) {
      for (std::size_t li = 0; li < per_layer.size(); ++li) {
        for (std::size_t t = 0; t < per_layer[li]; ++t) {
          const double x = fits[static_cast<std::size_t>(b)][li][t];
          if (!std::isnan(x)) exponents[li][t].push_back(x);
        }
      }
    }
  }
  const double cl = config.validation.confidence_level;
  for (std::size_t li = 0; li < per_layer.size(); ++li) {
    for (std::size_t t = 0; t < per_layer[li]; ++t) {
      TheoryScaling s;
      s.layer = static_cast<Eigen::Index>(li) + 2;
      const TheoryComparison& first = result.widths[compared_index.front()].layers[li].comparisons[t];
      s.theory = first.theory;
      s.quantity = first.quantity;
      std::vector<double> N, D, se;
      for (const std::size_t wi : compared_index) {
        const TheoryComparison& tc = result.widths[wi].layers[li].comparisons[t];
        N.push_back(static_cast<double>(result.widths[wi].width));
        D.push_back(tc.excess_frobenius);
        se.push_back(tc.frobenius_se);
      }
      s.fit = fit_power_law(N, D, se);
      std::vector<double>& b = exponents[li][t];
      std::sort(b.begin(), b.end());
      s.bootstrap_valid = static_cast<Eigen::Index>(b.size());
      if (!b.empty()) {
        s.bootstrap_low = quantile(b, (1.0 - cl) / 2.0);
        s.bootstrap_high = quantile(b, (1.0 + cl) / 2.0);
      }
      for (auto it = compared_index.rbegin(); it != compared_index.rend(); ++it) {
        if (!result.widths[*it].layers[li].comparisons[t].consistent) break;
        s.consistent_from = result.widths[*it].width;
      }
      s.verdict = verdict_text(s, compared);
      result.scaling.push_back(std::move(s));
    }
  }
  result.analysis_seconds = seconds_since(start);
  return result;
}

ValidationResult run_validation(const core::Config& config, const core::Dataset& data, Observer& observer) {
  const StudyRecords records = compute_records(config, data, study_units(config), observer);
  return analyze_records(records, data, observer);
}

}  // namespace kernelmc::validation
