#include "theory/criticality_study.hpp"

#include <cassert>
#include <cmath>
#include <limits>

#include "theory/criticality.hpp"
#include "theory/jacobian_operators.hpp"
#include "theory/one_loop.hpp"
#include "theory/prior_moments.hpp"

namespace kernelmc::theory {

namespace {

// √(Σ_b (x_b − x̄)²/(B(B − 1))): the SE of the mean of B replicates (0 for one).
double replicate_standard_error(const std::vector<double>& x) {
  const std::size_t B = x.size();
  if (B < 2) return 0.0;
  double mean = 0.0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(B);
  double sum_squares = 0.0;
  for (double v : x) sum_squares += (v - mean) * (v - mean);
  return std::sqrt(sum_squares / (static_cast<double>(B) * static_cast<double>(B - 1)));
}

// The model of one grid point: every g_l = g, σ_b² = bias_variance, every width 1.
core::ModelSpec grid_model(const core::ModelSpec& spec, double g, double bias_variance) {
  core::ModelSpec out = core::with_uniform_width(spec, 1);
  out.weight_variances.assign(static_cast<std::size_t>(spec.depth() + 1), g);
  out.bias_variance = bias_variance;
  return out;
}

}  // namespace

double correlation_length(double chi) {
  if (!(chi > 0.0 && chi < 1.0)) return std::numeric_limits<double>::quiet_NaN();
  return -1.0 / std::log(chi);
}

std::vector<double> log_spaced_ratios(double min_ratio, double max_ratio, Eigen::Index points) {
  assert(min_ratio > 0.0 && min_ratio <= max_ratio && points >= 1);
  std::vector<double> out(static_cast<std::size_t>(points), min_ratio);
  if (points == 1) return out;
  const double step = std::log(max_ratio / min_ratio) / static_cast<double>(points - 1);
  for (Eigen::Index i = 1; i + 1 < points; ++i)
    out[static_cast<std::size_t>(i)] = min_ratio * std::exp(step * static_cast<double>(i));
  out.back() = max_ratio;  // exactly, not through exp(log)
  return out;
}

namespace {

// §6.3: the layer's mean kernel diagonal and its entries' N·Var, raw and normalised by C_aa².
void fill_prior_fluctuation(CriticalityLayer& layer, const Eigen::MatrixXd& C, const Eigen::MatrixXd& Sigma,
                            const Eigen::MatrixXd& Sigma_se) {
  const Eigen::Index P = C.rows();
  for (Eigen::Index a = 0; a < P; ++a) {
    const Eigen::Index k = core::triangle_index(a, a, P);
    const double C_aa = C(a, a);
    layer.kernel_diagonal += C_aa;
    layer.scaled_diagonal_variance += Sigma(k, k);
    layer.scaled_diagonal_variance_se += Sigma_se(k, k);
    layer.scaled_normalized_variance += Sigma(k, k) / (C_aa * C_aa);
    layer.scaled_normalized_variance_se += Sigma_se(k, k) / (C_aa * C_aa);
  }
  const double inv_P = 1.0 / static_cast<double>(P);
  layer.kernel_diagonal *= inv_P;
  layer.scaled_diagonal_variance *= inv_P;
  layer.scaled_diagonal_variance_se *= inv_P;
  layer.scaled_normalized_variance *= inv_P;
  layer.scaled_normalized_variance_se *= inv_P;
}

// §6.4: δC = Σ^(l)[G^(l)] per replicate (`delta`), its norm relative to ‖C‖ and its
// projection on Ŷ, with replicate errors.
void fill_adaptation(CriticalityLayer& layer, const std::vector<Eigen::MatrixXd>& delta, const Eigen::MatrixXd& C,
                     const Eigen::MatrixXd& Y_hat) {
  const MatrixEstimate delta_C = replicate_estimate(delta);
  const double delta_norm = delta_C.value.norm();
  const double kernel_norm = C.norm();
  layer.scaled_relative_adaptation = delta_norm / kernel_norm;
  layer.scaled_target_adaptation = (Y_hat.transpose() * delta_C.value * Y_hat).trace();
  // The target projection is linear in δC, so its replicates give its SE directly; the
  // norm's SE is that of its linearisation ⟨δC̄, δC_b⟩/‖δC̄‖ (delta method).
  std::vector<double> target_replicates, norm_replicates;
  for (const Eigen::MatrixXd& d : delta) {
    target_replicates.push_back((Y_hat.transpose() * d * Y_hat).trace());
    norm_replicates.push_back(delta_norm > 0.0 ? (delta_C.value.array() * d.array()).sum() / delta_norm : 0.0);
  }
  layer.scaled_target_adaptation_se = replicate_standard_error(target_replicates);
  layer.scaled_relative_adaptation_se = replicate_standard_error(norm_replicates) / kernel_norm;
}

}  // namespace

CriticalityRow criticality_row(const core::ModelSpec& spec, const core::Dataset& data, double g, double g_ratio,
                               double bias_variance, const core::TheorySettings& settings, std::uint64_t seed) {
  const core::ModelSpec model = grid_model(spec, g, bias_variance);
  check_one_loop_inputs(model, data.inputs, data.targets);
  const Eigen::Index top = model.depth() + 1;

  CriticalityRow row;
  row.g = g;
  row.g_ratio = g_ratio;
  row.bias_variance = bias_variance;
  // THEORY.md §6.1–6.2: the single-input length map.
  const CriticalityPoint point = criticality_point(model.activation, g, bias_variance);
  row.q_star = point.q_star;
  row.chi_parallel = point.chi_parallel;
  row.chi_perpendicular = point.chi_perpendicular;
  row.xi_parallel = correlation_length(point.chi_parallel);
  row.xi_perpendicular = correlation_length(point.chi_perpendicular);

  // §6.3: NΣ^(l) (unit widths) and its diagonal entries.
  const PriorMoments prior = prior_moments(model, data.inputs, settings, seed);
  row.method_used = prior.method_used;

  // §6.4: δC^(l) = Σ^(l)[G^(l)], one δC per batch replicate of the 4-point draws.
  const std::vector<JacobianOperator> jacobians =
      jacobian_operators(model, prior.nngp, settings.quadrature_tolerance);
  const core::KernelStack gradients =
      backpropagate_gradient(jacobians, likelihood_gradient(prior.nngp.layer(top), data.targets, model.kappa));
  const PriorCovarianceReplicates covariance = prior_covariance_replicates(model, prior.nngp, settings, seed);
  const Eigen::MatrixXd Y_hat = data.targets / data.targets.norm();

  for (Eigen::Index l = 2; l <= top; ++l) {
    CriticalityLayer layer;
    layer.layer = l;
    fill_prior_fluctuation(layer, prior.nngp.layer(l), prior.covariance_of(l), prior.covariance_standard_error_of(l));
    fill_adaptation(layer, covariance.apply(l, gradients.layer(l)), prior.nngp.layer(l), Y_hat);
    row.layers.push_back(layer);
  }
  return row;
}

CriticalityStudy criticality_study(const core::ModelSpec& spec, const core::Dataset& data,
                                   const std::vector<double>& bias_variances, const std::vector<double>& g_ratios,
                                   const core::TheorySettings& settings, std::uint64_t seed,
                                   const std::function<void(Eigen::Index, Eigen::Index)>& progress) {
  core::validate(spec);
  core::validate(settings);
  core::validate(data);
  const Eigen::Index total = static_cast<Eigen::Index>(bias_variances.size() * g_ratios.size());
  Eigen::Index done = 0;
  CriticalityStudy study;
  for (double bias_variance : bias_variances) {
    const double g_c = edge_of_chaos_g(spec.activation, bias_variance);
    study.edge_of_chaos.push_back(g_c);
    std::vector<CriticalityRow> rows;
    for (double ratio : g_ratios) {
      rows.push_back(criticality_row(spec, data, ratio * g_c, ratio, bias_variance, settings, seed));
      if (progress) progress(++done, total);
    }
    study.rows.push_back(std::move(rows));
  }
  return study;
}

}  // namespace kernelmc::theory
