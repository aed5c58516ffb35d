#include "validation/validation_study.hpp"

#include <chrono>
#include <cmath>
#include <limits>

#include "core/kernel_stack.hpp"
#include "sampling/diagnostics/hmc_health.hpp"
#include "validation/theory_scaling.hpp"

namespace kernelmc::validation {

namespace {

Eigen::MatrixXd standard_errors(const Eigen::MatrixXd& covariance, Eigen::Index P) {
  return core::from_upper_triangle(covariance.diagonal().cwiseMax(0.0).cwiseSqrt(), P);
}

void fill_sampler_health(WidthValidation& w, const WidthRecords& records) {
  double accept = 0.0, transitions = 0.0;
  w.min_e_bfmi = std::numeric_limits<double>::infinity();
  for (const ChainRecord* c : records.chains) {
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
  w.prior_seconds = records.prior->seconds;
}

// Layer li + 2 at width N: the estimates, and their comparisons with `predictions` (none
// when the width is not compared).
LayerValidation layer_validation(const WidthRecords& records, std::size_t li, Eigen::Index N,
                                 const core::Dataset& data, const std::vector<Prediction>& predictions,
                                 double alpha) {
  const Eigen::Index P = data.size();
  const Eigen::MatrixXd& Y = data.targets;
  const LayerEstimates e = layer_estimates(records, li);
  LayerValidation lv;
  lv.layer = static_cast<Eigen::Index>(li) + 2;
  lv.posterior_mean = core::from_upper_triangle(e.posterior.entries, P);
  lv.posterior_mean_se = standard_errors(e.posterior.covariance, P);
  lv.posterior_dof = e.posterior.dof;
  lv.prior_mean = core::from_upper_triangle(e.prior.entries, P);
  lv.prior_mean_se = standard_errors(e.prior.covariance, P);
  lv.adaptation = core::from_upper_triangle(e.adaptation.entries, P);
  lv.adaptation_se = standard_errors(e.adaptation.covariance, P);
  const double Nd = static_cast<double>(N);
  const Eigen::VectorXd u = target_functional(Y);
  lv.target_adaptation = Nd * u.dot(e.adaptation.entries);
  lv.target_adaptation_se = Nd * std::sqrt(std::max(u.dot(e.adaptation.covariance * u), 0.0));
  lv.cka = cka_of(e.posterior.entries, Y);
  lv.cka_se = cka_standard_error(e.posterior.entries, e.posterior.covariance, Y);
  for (const Prediction& pred : predictions)
    lv.comparisons.push_back(
        compare_prediction(pred.quantity == "adaptation" ? e.adaptation : e.posterior, pred, alpha, Nd, Y));
  return lv;
}

// Gate and diagnostics of an importance or SMC width: it passes unless the importance
// weights were not to be trusted (k-hat > 0.7) and no SMC run replaced them.
void fill_route_health(WidthValidation& w, const RouteRecord& r) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  w.route = r.route;
  w.gate.passed = r.trusted;
  if (!r.trusted) {
    w.gate.failures.push_back(r.warning);
    w.gate.advice = r.warning;
  }
  w.gate.worst_rhat = w.gate.min_ess_bulk = w.gate.min_ess_tail = kNaN;
  w.mean_accept_stat = r.mean_acceptance;
  w.min_e_bfmi = kNaN;
  w.sampling_seconds = r.seconds;
  w.log_evidence = r.log_evidence;
  w.log_evidence_error = r.log_evidence_error;
  w.nngp_log_evidence = r.nngp_log_evidence;
  w.pareto_k = r.pareto_k;
  w.effective_sample_size = r.effective_sample_size;
  w.route_warning = r.warning;
}

// Gate and sampler health of a chain width; its evidence and importance diagnostics are
// not measured (NaN).
void fill_chain_health(WidthValidation& w, const WidthRecords& records, const core::PosteriorSettings& posterior) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  w.gate = convergence_gate(records.chains, posterior);
  fill_sampler_health(w, records);
  w.log_evidence = w.log_evidence_error = w.nngp_log_evidence = kNaN;
  w.pareto_k = w.effective_sample_size = kNaN;
}

WidthValidation width_validation(const core::Config& config, const core::Dataset& data, const WidthRecords& records,
                                 Eigen::Index N, Eigen::Index layers, bool exact_linear) {
  WidthValidation w;
  w.width = N;
  if (records.route != nullptr)
    fill_route_health(w, *records.route);
  else
    fill_chain_health(w, records, config.posterior);
  w.compared = w.gate.passed;
  WidthPredictions theory;
  theory.layers.resize(static_cast<std::size_t>(layers));
  if (w.compared) {
    theory = width_predictions(config, data, N, exact_linear);
    w.theory_seconds = theory.seconds;
    w.fb_method = theory.fb_method;
    w.theory_failures = theory.failures;
  }
  for (std::size_t li = 0; li < static_cast<std::size_t>(layers); ++li)
    w.layers.push_back(
        layer_validation(records, li, N, data, theory.layers[li], config.validation.false_alarm_rate));
  return w;
}

}  // namespace

ValidationResult analyze_records(const StudyRecords& records, const core::Dataset& data, Observer& observer) {
  const auto start = std::chrono::steady_clock::now();
  const core::Config& config = records.config;
  core::validate(config);
  core::validate(data);
  ValidationResult result;
  result.config = config;
  result.dataset_name = data.name;
  result.points = data.size();
  const Eigen::Index L = spec_at_width(config, data, config.validation.widths.front()).depth();
  result.exact_linear_available =
      config.model.activation == core::Activation::linear && L == 1 && data.output_dim() == 1;
  const std::map<Eigen::Index, WidthRecords> by_width = records_by_width(records);

  observer.begin_stage("theory", static_cast<std::int64_t>(config.validation.widths.size()));
  std::int64_t done = 0;
  for (const Eigen::Index N : config.validation.widths) {
    result.widths.push_back(width_validation(config, data, by_width.at(N), N, L, result.exact_linear_available));
    observer.advance(++done);
  }
  observer.end_stage();
  result.scaling = scale_theories(result, by_width);
  result.analysis_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

ValidationResult run_validation(const core::Config& config, const core::Dataset& data, Observer& observer) {
  const StudyRecords records = compute_records(config, data, study_units(config), observer);
  return analyze_records(records, data, observer);
}

}  // namespace kernelmc::validation
