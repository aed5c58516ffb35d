#include "validation/theory_run.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <limits>
#include <string>

#include "core/dataset_generators.hpp"
#include "core/rng.hpp"
#include "theory/deep_linear_oracles.hpp"
#include "theory/deep_linear_posterior.hpp"
#include "theory/four_point.hpp"
#include "theory/jacobian_operators.hpp"
#include "theory/nngp.hpp"
#include "theory/one_loop.hpp"
#include "theory/one_loop_operator.hpp"
#include "theory/one_loop_route.hpp"
#include "theory/prediction.hpp"
#include "theory/prior_covariance.hpp"
#include "theory/prior_moments.hpp"
#include "theory/tilted_expectations.hpp"

namespace kernelmc::validation {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// One named stage for the observer and the timings.
class Stage {
 public:
  Stage(Observer& observer, TheoryRunResult& result, std::string name)
      : observer_(observer), result_(result), name_(std::move(name)), start_(Clock::now()) {
    observer_.begin_stage(name_, 1);
  }
  ~Stage() {
    observer_.advance(1);
    observer_.end_stage();
    result_.stage_seconds.emplace_back(name_, std::chrono::duration<double>(Clock::now() - start_).count());
  }
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

 private:
  Observer& observer_;
  TheoryRunResult& result_;
  std::string name_;
  Clock::time_point start_;
};

// Rows of the K_train×K_train training block inside the augmented K_aug×K_aug triangle order.
std::vector<Eigen::Index> training_triangle_indices(Eigen::Index P, Eigen::Index n) {
  std::vector<Eigen::Index> idx;
  idx.reserve(static_cast<std::size_t>(core::triangle_size(P)));
  for (Eigen::Index a = 0; a < P; ++a)
    for (Eigen::Index b = a; b < P; ++b) idx.push_back(core::triangle_index(a, b, n));
  return idx;
}

// Σ[M]_ab = Σ_{c,d ordered} Cov(C_ab, C_cd) M_cd from the explicit triangle matrix: the ordered
// pairs (c, d) and (d, c) share one triangle entry, so the vector is triangle_gradient(M).
Eigen::MatrixXd apply_explicit_covariance(const Eigen::MatrixXd& sigma, const Eigen::MatrixXd& M) {
  return core::from_upper_triangle(sigma * theory::triangle_gradient(M), M.rows());
}

// T = YYᵀ/‖YYᵀ‖_F: the target direction in kernel space (ŷŷᵀ for one output).
Eigen::MatrixXd target_direction(const Eigen::MatrixXd& Y) {
  const Eigen::MatrixXd T = Y * Y.transpose();
  const double norm = T.norm();
  return norm > 0.0 ? Eigen::MatrixXd(T / norm) : Eigen::MatrixXd(T);
}

double pairing(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B) { return A.cwiseProduct(B).sum(); }

CovarianceSummary summarise_covariance(const Eigen::MatrixXd& sigma, const Eigen::MatrixXd& se,
                                       const Eigen::MatrixXd& nngp, const Eigen::MatrixXd& target, double scale) {
  const Eigen::Index P = nngp.rows();
  CovarianceSummary s;
  if (sigma.size() == 0) return s;
  double off = 0.0, off_se = 0.0;
  for (Eigen::Index a = 0; a < P; ++a) {
    const Eigen::Index kaa = core::triangle_index(a, a, P);
    s.diagonal_variance += sigma(kaa, kaa) / static_cast<double>(P);
    s.diagonal_variance_se += se(kaa, kaa) / static_cast<double>(P);
    for (Eigen::Index b = 0; b < P; ++b) {
      const Eigen::Index kbb = core::triangle_index(b, b, P);
      s.trace_variance += sigma(kaa, kbb);
      s.trace_variance_se += se(kaa, kbb);
      if (b > a) {
        const Eigen::Index kab = core::triangle_index(a, b, P);
        off += sigma(kab, kab);
        off_se += se(kab, kab);
      }
    }
  }
  const double pairs = static_cast<double>(P * (P - 1) / 2);
  if (P > 1) {
    s.off_diagonal_variance = off / pairs;
    s.off_diagonal_variance_se = off_se / pairs;
  }
  // ⟨T, C⟩ = Σ_k w_k x_k over the triangle entries x_k, w = triangle_gradient(T).
  const Eigen::VectorXd w = theory::triangle_gradient(target);
  s.target_variance = w.dot(sigma * w);
  s.target_variance_se = w.cwiseAbs().dot(se * w.cwiseAbs());
  const double along = pairing(target, nngp);
  s.target_relative_variance = along != 0.0 ? s.target_variance / (along * along) : kNaN;
  s.frobenius = sigma.norm();
  for (double* v : {&s.diagonal_variance, &s.off_diagonal_variance, &s.trace_variance, &s.target_variance,
                    &s.target_relative_variance, &s.frobenius, &s.diagonal_variance_se,
                    &s.off_diagonal_variance_se, &s.trace_variance_se, &s.target_variance_se})
    *v *= scale;
  return s;
}

// μ^(l) and the summaries of Σ^(l) on the training block, from the explicit prior moments.
void fill_explicit_prior(TheoryRunResult& r, const theory::PriorMoments& prior, Eigen::Index n) {
  const Eigen::Index P = r.points;
  const Eigen::MatrixXd target = target_direction(r.targets);
  const std::vector<Eigen::Index> train = training_triangle_indices(P, n);
  const bool write_sigma = static_cast<double>(train.size() * train.size()) <= theory::kMaxExplicitCovarianceEntries;
  for (Eigen::Index l = 1; l <= r.layers.last_layer(); ++l) {
    TheoryLayer& layer = r.layers.layer(l);
    const Eigen::MatrixXd sigma = prior.covariance_of(l)(train, train);
    const Eigen::MatrixXd sigma_se = prior.covariance_standard_error_of(l)(train, train);
    layer.covariance = summarise_covariance(sigma, sigma_se, layer.nngp, target, r.scale);
    if (write_sigma && l >= 2) layer.covariance_matrix = sigma;
    layer.mean_shift = prior.mean_shift.layer(l).topLeftCorner(P, P);
    layer.mean_shift_se = prior.mean_shift_standard_error.layer(l).topLeftCorner(P, P);
  }
}

// The one-loop kernels' training blocks into the layers.
void fill_one_loop_layers(TheoryRunResult& r, const core::KernelStack& tilts, const core::KernelStack& adaptation,
                          const core::KernelStack& adaptation_se) {
  const Eigen::Index P = r.points;
  for (Eigen::Index l = 1; l <= r.layers.last_layer(); ++l) {
    TheoryLayer& layer = r.layers.layer(l);
    layer.one_loop_tilt = tilts.layer(l).topLeftCorner(P, P);
    layer.adaptation = adaptation.layer(l).topLeftCorner(P, P);
    layer.adaptation_se = adaptation_se.layer(l).topLeftCorner(P, P);
  }
}

// δC^(l) = Σ^(l)[G^(l)] and the one-loop predictions (THEORY.md §5.2, gradient/Hessian
// route) with the explicit quadrature Σ.
void explicit_quadrature_one_loop(TheoryRunResult& r, const theory::PriorMoments& prior,
                                  const core::TheorySettings& settings) {
  const core::ModelSpec& spec = r.spec;
  const Eigen::Index top = spec.depth() + 1;
  const Eigen::Index n = prior.nngp.layer(1).rows();
  const Eigen::MatrixXd& Y = r.targets;
  const std::vector<theory::JacobianOperator> jacobians =
      theory::jacobian_operators(spec, prior.nngp, settings.quadrature_tolerance);
  const Eigen::MatrixXd G = theory::likelihood_gradient(prior.nngp.layer(top), Y, spec.kappa);
  const core::KernelStack gradients = theory::backpropagate_gradient(jacobians, G);
  core::KernelStack tilts = core::zero_kernel_stack(top, n), adaptation = core::zero_kernel_stack(top, n);
  for (Eigen::Index l = 2; l <= top; ++l) {
    tilts.layer(l) = gradients.layer(l) / static_cast<double>(spec.width(l - 1));
    adaptation.layer(l) =
        apply_explicit_covariance(prior.covariance_of(l), gradients.layer(l));
  }
  fill_one_loop_layers(r, tilts, adaptation, core::zero_kernel_stack(top, n));
  const Eigen::MatrixXd& sigma_top = prior.covariance_of(top);
  const theory::CovarianceOperator apply = [&](const Eigen::MatrixXd& M) {
    return apply_explicit_covariance(sigma_top, M);
  };
  const theory::GpPrediction base = theory::gp_prediction(prior.nngp.layer(top), Y, spec.kappa);
  const theory::PredictiveCorrections c = theory::predictive_corrections(
      prior.nngp.layer(top), Y, spec.kappa, prior.mean_shift.layer(top) + adaptation.layer(top), apply);
  r.one_loop_prediction.mean = base.mean + c.mean_shift + c.mean_curvature;
  r.one_loop_prediction.variance =
      (c.variance_fluctuation.colwise() + (c.variance_shift + c.variance_curvature)).colwise() + base.variance;
  r.one_loop_prediction.mean_se = Eigen::MatrixXd::Zero(n - r.points, Y.cols());
  r.one_loop_prediction.variance_se = Eigen::MatrixXd::Zero(n - r.points, Y.cols());
}

// Prior moments, δC and the one-loop predictions with the explicit K×K Σ (quadrature) or
// its Monte Carlo replicates (the library's one-loop routes, with standard errors).
void run_explicit_one_loop(TheoryRunResult& r, const core::Dataset& data, const Eigen::MatrixXd& X,
                           const core::TheorySettings& settings, Observer& observer) {
  const std::uint64_t seed = r.config.run.seed;
  theory::PriorMoments prior;
  {
    Stage stage(observer, r, "prior moments (mu, Sigma)");
    prior = theory::prior_moments(r.spec, X, settings, seed);
  }
  fill_explicit_prior(r, prior, X.rows());
  Stage stage(observer, r, "one loop (delta C and predictions)");
  if (r.four_point_method != core::FourPointMethod::monte_carlo) {
    explicit_quadrature_one_loop(r, prior, settings);
    return;
  }
  // The prior moments and their Σ replicates once, for both the kernels and the predictions.
  const theory::PriorCovarianceReplicates covariance =
      theory::prior_covariance_replicates(r.spec, prior.nngp, settings, seed);
  const theory::OneLoopGpPrediction gp = theory::one_loop_gp_prediction(r.spec, data, r.test.inputs, prior, covariance);
  r.one_loop_prediction = {gp.mean, gp.variance, gp.mean_standard_error, gp.variance_standard_error};
  const theory::OneLoopPrediction one =
      theory::one_loop_prediction(r.spec, std::move(prior), covariance, r.targets, settings);
  fill_one_loop_layers(r, one.tilts, one.adaptation, one.adaptation_standard_error);
}

// Summaries of Σ^(l) from its pair-local entries on the training block (the operator route):
// the diagonal, off-diagonal and trace variances; the target variance and the Frobenius norm
// need entries beyond the pairs and are not computed (NaN).
CovarianceSummary summarise_pair_covariance(const theory::PairCovariance& sigma, const theory::PairCovariance& se,
                                            Eigen::Index P, double scale) {
  CovarianceSummary s;
  const double p = static_cast<double>(P);
  s.diagonal_variance = scale * sigma.diagonal.diagonal().head(P).mean();
  s.diagonal_variance_se = scale * se.diagonal.diagonal().head(P).mean();
  s.trace_variance = scale * sigma.diagonal.topLeftCorner(P, P).sum();
  s.trace_variance_se = scale * se.diagonal.topLeftCorner(P, P).sum();
  if (P > 1) {
    const double pairs = p * (p - 1.0) / 2.0;
    const Eigen::MatrixXd off = sigma.off_diagonal.topLeftCorner(P, P), off_se = se.off_diagonal.topLeftCorner(P, P);
    s.off_diagonal_variance = scale * (off.sum() - off.trace()) / (2.0 * pairs);
    s.off_diagonal_variance_se = scale * (off_se.sum() - off_se.trace()) / (2.0 * pairs);
  }
  s.target_variance = s.target_variance_se = s.target_relative_variance = s.frobenius = kNaN;
  return s;
}

// μ, Σ's pair-local summaries and δC without any K×K object (theory/one_loop_operator); the
// one-loop predictions are not computed on this route (NaN).
void run_operator_one_loop(TheoryRunResult& r, const Eigen::MatrixXd& X, const core::TheorySettings& settings,
                           Observer& observer) {
  const Eigen::Index P = r.points;
  Stage stage(observer, r, "one loop, operator route (mu, Sigma pairs, delta C)");
  const theory::OperatorOneLoop one = theory::operator_one_loop(r.spec, X, r.targets, settings, r.config.run.seed);
  r.routes.push_back("one loop: " + one.description);
  r.routes.push_back("one-loop predictions: not computed on the operator route (the gradient/Hessian route needs "
                     "P(D + T) + TD applications of Sigma); Sigma summaries target_variance and frobenius: not "
                     "computed (they need entries beyond the pair-local ones)");
  r.four_point_method = one.one_loop.method_used;
  for (Eigen::Index l = 1; l <= r.layers.last_layer(); ++l) {
    TheoryLayer& layer = r.layers.layer(l);
    layer.covariance =
        summarise_pair_covariance(one.covariance.layer(l), one.covariance_standard_error.layer(l), P, r.scale);
    layer.mean_shift = one.one_loop.mean_shift.layer(l).topLeftCorner(P, P);
    layer.mean_shift_se = one.one_loop.mean_shift_standard_error.layer(l).topLeftCorner(P, P);
  }
  fill_one_loop_layers(r, one.one_loop.tilts, one.one_loop.adaptation, one.one_loop.adaptation_standard_error);
  const Eigen::MatrixXd nan = Eigen::MatrixXd::Constant(X.rows() - P, r.targets.cols(), kNaN);
  r.one_loop_prediction = {nan, nan, nan, nan};
}

// The FB settings the run uses (theory::choose_fb_route), its reason appended to `routes`.
theory::FbSettings resolve_fb_settings(const core::ModelSpec& spec, Eigen::Index P, const core::FbSettings& given,
                                       std::vector<std::string>& routes) {
  theory::FbRouteChoice choice = theory::choose_fb_route(spec, P, given);
  routes.push_back(std::move(choice.reason));
  return choice.settings;
}

// FB (THEORY.md §4.3–§4.5) and the NNGP and FB predictors at the test points.
void run_fb(TheoryRunResult& r, const core::Dataset& data, Observer& observer) {
  const core::ModelSpec& spec = r.spec;
  const Eigen::Index top = spec.depth() + 1;
  const Eigen::MatrixXd target = target_direction(r.targets);
  const theory::FbSettings fb_settings = resolve_fb_settings(spec, r.points, r.config.fb, r.routes);
  theory::FbSolution fb;
  {
    Stage stage(observer, r, "FB solve");
    fb = theory::solve_fb(spec, data, fb_settings);
  }
  r.fb.method = fb.method;
  r.fb.settings = fb_settings;
  r.fb.iterations = fb.iterations;
  r.fb.residual_history = fb.residual_history;
  r.fb.residual = fb.residual_history.empty() ? 0.0 : fb.residual_history.back();
  r.fb.homotopy_steps = fb.homotopy_steps;
  r.fb.truncation_order = fb.truncation_order;
  for (Eigen::Index l = 1; l <= top; ++l) {
    TheoryLayer& layer = r.layers.layer(l);
    layer.fb_kernel = fb.kernels.layer(l);
    layer.fb_kernel_error = fb.kernel_errors.layer(l);
    layer.fb_tilt = fb.tilts.layer(l);
    layer.fb_effective_sample_size = fb.effective_sample_size.size() >= static_cast<std::size_t>(l)
                                         ? fb.effective_sample_size[static_cast<std::size_t>(l - 1)]
                                         : kNaN;
    layer.fb_target_adaptation = r.scale * pairing(target, fb.kernels.layer(l) - fb.nngp.layer(l));
    layer.fb_target_adaptation_error = r.scale * pairing(target.cwiseAbs(), fb.kernel_errors.layer(l));
  }
  Stage stage(observer, r, "predictions (NNGP, FB)");
  const Eigen::Index T = r.test.inputs.rows(), D = r.targets.cols();
  const theory::GpPrediction gp = theory::nngp_prediction(spec, data, r.test.inputs, r.config.theory);
  r.nngp_prediction = {gp.mean, gp.variance.replicate(1, D), Eigen::MatrixXd::Zero(T, D), Eigen::MatrixXd::Zero(T, D)};
  const theory::GpPrediction f = theory::fb_prediction(spec, data, r.test.inputs, fb, fb_settings);
  r.fb_prediction = {f.mean, f.variance.replicate(1, D), Eigen::MatrixXd::Zero(T, D), Eigen::MatrixXd::Zero(T, D)};
}

std::string width_list(const core::ModelSpec& spec) {
  std::string out;
  for (Eigen::Index l = 1; l <= spec.depth(); ++l) {
    if (l > 1) out += ',';
    out += std::to_string(spec.width(l));
  }
  return out;
}

void fill_linear_oracles(TheoryRunResult& r, const core::Dataset& data) {
  const core::ModelSpec& spec = r.spec;
  LinearOracles& o = r.linear;
  const bool equal_widths = std::all_of(spec.widths.begin(), spec.widths.end(),
                                        [&](Eigen::Index n) { return n == spec.widths.front(); });
  if (spec.activation != core::Activation::linear) {
    o.reason = "model.activation = " + std::string(core::activation_name(spec.activation)) +
               ": the exact oracles of THEORY.md §7 are for linear networks";
  } else if (spec.bias_variance != 0.0) {
    o.reason = "model.bias_variance = " + format_number(spec.bias_variance) + ": the oracles need sigma_b^2 = 0";
  } else if (!equal_widths) {
    o.reason = "model.widths = [" + width_list(spec) + "]: the oracles need equal hidden widths";
  } else if (spec.output_dim != 1) {
    o.reason = "D = " + std::to_string(spec.output_dim) + " outputs: the oracles need one output";
  }
  if (!o.reason.empty()) return;
  o.applicable = true;
  const Eigen::MatrixXd K0 = core::input_kernel(data.inputs, spec.g(1), spec.bias_variance);
  const Eigen::VectorXd y = data.targets.col(0);
  const Eigen::Index top = spec.depth() + 1;

  o.first_order_adaptation = theory::deep_linear_first_order_adaptation(spec, K0, y);
  if (r.one_loop_computed)
    for (Eigen::Index l = 2; l <= top; ++l)
      o.first_order_adaptation_max_difference =
          std::max(o.first_order_adaptation_max_difference,
                   (o.first_order_adaptation.layer(l) - r.layers.layer(l).adaptation)
                       .cwiseAbs()
                       .maxCoeff());
  const theory::LinearFbSolution fb = theory::linear_fb_kernels(spec, K0, y);
  o.fb_kernels = fb.kernels;
  for (Eigen::Index l = 2; l <= top; ++l)
    o.fb_max_difference = std::max(
        o.fb_max_difference,
        (fb.kernels.layer(l) - r.layers.layer(l).fb_kernel).cwiseAbs().maxCoeff());

  const theory::ScalePosterior s = theory::deep_linear_scale_posterior(spec, K0, y);
  o.scale_mean = s.mean;
  o.scale_mean_error = s.mean_error;
  o.scale_variance = s.variance;
  o.scale_variance_error = s.variance_error;
  o.scale_prior_mean = theory::gain_product(spec, 2, top);
  const theory::ScaleSaddle saddle = theory::deep_linear_scale_saddle(spec, K0, y);
  o.saddle_u = saddle.u;
  o.saddle_scale = saddle.scale;
  if (spec.depth() == 1) {
    const theory::OneHiddenLayerPosterior h = theory::one_hidden_layer_posterior(spec, K0, y);
    o.has_exact_hidden_kernel = true;
    o.exact_hidden_kernel = h.mean_kernel;
    o.exact_hidden_kernel_error = h.kernel_error;
  }
}

void fill_exactness(TheoryRunResult& r) {
  const bool linear = r.spec.activation == core::Activation::linear;
  const double alpha = static_cast<double>(r.points) / static_cast<double>(r.spec.width(r.spec.depth()));
  const std::string alpha_text = format_number(alpha);
  auto& e = r.exactness;
  e.push_back({"nngp", false,
               "infinite-width limit (THEORY.md §2): posterior and prior means differ from C_GP at O(1/N); "
               "exact only for the prior mean of the first hidden layer, E[C^(2)] = C_GP^(2)"});
  if (linear)
    e.push_back({"prior_mean", true,
                 "linear network: mu = 0 and C_GP = g^(l-1) K0 is the exact prior mean at every N (THEORY.md §3.2)"});
  else
    e.push_back({"prior_mean", false,
                 "C_GP + mu is the prior mean to O(1/N); the remainder is O(1/N^2) (THEORY.md §3.4)"});
  e.push_back({"prior_covariance", false,
               "Sigma is the leading O(1/N) covariance; exact at any N for the first hidden layer (V2), O(1/N^2) "
               "corrections in deeper layers (THEORY.md §3.4)"});
  e.push_back({"fb", false,
               "large-deviation MAP kernels (THEORY.md §4.3); agree with the posterior mean to first order in 1/N "
               "at fixed P, but for P = alpha N the adaptation along y is low by O(alpha) (§4.8: measured "
               "0.39 alpha ... 0.19 alpha on linear networks); here alpha = P/N = " +
                   alpha_text + ". Numerical error of the tilted expectations is in fb_kernel_error" +
                   (r.fb.method == core::TiltMethod::importance_sampling ? " (importance sampling: see the ESS)"
                                                                          : std::string())});
  e.push_back({"one_loop", false,
               "tree-level 1/N posterior (THEORY.md §4.6, §5.1): exact to O(1/N) at fixed P, O(1/N^2) remainder; "
               "poor when kappa is small against the small eigenvalues of C_GP or alpha is not small (§5.3)"});
  e.push_back({"predictions", false,
               "NNGP: infinite width; FB: the FB kernel's GP predictor (same caveats as fb); one loop: O(1/N) "
               "(THEORY.md §5.2)"});
  if (r.linear.applicable) {
    e.push_back({"deep_linear_scale_posterior", true,
                 "exact at finite N and P (THEORY.md §7.1) up to the stated integration error"});
    e.push_back({"bpkr_saddle", false, "proportional-limit saddle (THEORY.md §7.1): O(1/N) from the exact E[s|y]"});
    e.push_back({"deep_linear_first_order_adaptation", false,
                 "closed form of the O(1/N) adaptation (THEORY.md §4.6); equals the one-loop delta C here"});
    e.push_back({"linear_fb_closed_form", false,
                 "exact solution of the FB equations, not of the posterior (THEORY.md §7.3: differs at O(alpha))"});
    if (r.linear.has_exact_hidden_kernel)
      e.push_back({"one_hidden_layer_posterior", true,
                   "L = 1: E[C^(2) | y] exact at finite N and P (THEORY.md §7.2) up to the integration error"});
  } else {
    e.push_back({"exact_oracles", false, "none applies: " + r.linear.reason});
  }
}

}  // namespace

TestPoints make_test_points(const core::Config& config, const core::Dataset& training) {
  const core::DataSettings& d = config.data;
  TestPoints t;
  if (d.kind == "xor") {
    core::Engine engine = core::make_stream(config.run.seed, core::StreamPurpose::dataset, 0, 1);
    const core::Dataset held_out = core::xor_dataset(kHeldOutTestPoints, d.input_dim, d.noise, engine);
    t.inputs = held_out.inputs;
    t.targets = held_out.targets;
    t.source = std::to_string(kHeldOutTestPoints) +
               " held-out XOR points, one per cluster (generator stream make_stream(seed, dataset, 0, 1)), "
               "with their labels";
  } else if (d.kind == "teacher") {
    core::Engine engine = core::make_stream(config.run.seed, core::StreamPurpose::dataset, 0, 1);
    t.inputs = core::teacher_dataset(kHeldOutTestPoints, d.input_dim, d.teacher_width, d.teacher_activation,
                                     d.noise, engine)
                   .inputs;
    t.source = std::to_string(kHeldOutTestPoints) +
               " held-out N(0, I) inputs (generator stream make_stream(seed, dataset, 0, 1)); no targets (the "
               "teacher's weights are not shared across streams)";
  } else {
    t.inputs = training.inputs;
    t.targets = training.targets;
    t.source = "the " + std::to_string(training.size()) + " training inputs (data.kind = " + d.kind +
               " is a fixed data set without a generator for held-out points)";
  }
  return t;
}

TheoryRunResult run_theory_predictions(const core::Config& config, const core::Dataset& data,
                                       Observer& observer) {
  const Clock::time_point start = Clock::now();
  core::validate(config);
  core::validate(data);
  TheoryRunResult r;
  r.config = config;
  r.spec = core::resolve_model(config.model, data.input_dim(), data.output_dim());
  r.dataset_name = data.name;
  r.points = data.size();
  r.targets = data.targets;
  const core::ModelSpec& spec = r.spec;
  const bool equal_widths = std::all_of(spec.widths.begin(), spec.widths.end(),
                                        [&](Eigen::Index n) { return n == spec.widths.front(); });
  r.scale = equal_widths ? static_cast<double>(spec.widths.front()) : 1.0;
  const Eigen::Index P = r.points;
  const Eigen::Index top = spec.depth() + 1;

  r.test = make_test_points(config, data);
  r.routes.push_back("test points: " + r.test.source);
  const Eigen::MatrixXd X = theory::augmented_inputs(data, r.test.inputs);

  r.layers = core::LayerStack<TheoryLayer>(1, top);
  for (Eigen::Index l = 1; l <= top; ++l) r.layers.layer(l).layer = l;

  // ---- NNGP and the route of the 4-point functions.
  core::KernelStack nngp;
  {
    Stage stage(observer, r, "NNGP kernels");
    nngp = theory::nngp_kernels(spec, X, config.theory.quadrature_tolerance);
  }
  for (Eigen::Index l = 1; l <= top; ++l)
    r.layers.layer(l).nngp = nngp.layer(l).topLeftCorner(P, P);

  const theory::OneLoopRouteChoice route = theory::choose_one_loop_route(spec, nngp, config.theory, true);
  r.routes.insert(r.routes.end(), route.reasons.begin(), route.reasons.end());
  r.four_point_method = route.four_point;
  r.one_loop_computed = true;
  if (route.route == theory::OneLoopRoute::explicit_covariance)
    run_explicit_one_loop(r, data, X, route.settings, observer);
  else
    run_operator_one_loop(r, X, route.settings, observer);
  const Eigen::MatrixXd target = target_direction(r.targets);
  for (Eigen::Index l = 1; l <= top; ++l) {
    TheoryLayer& layer = r.layers.layer(l);
    layer.one_loop_mean = layer.nngp + layer.mean_shift + layer.adaptation;
    layer.one_loop_target_adaptation = r.scale * pairing(target, layer.adaptation);
    layer.one_loop_target_adaptation_se = r.scale * pairing(target.cwiseAbs(), layer.adaptation_se);
  }

  run_fb(r, data, observer);

  // ---- Exact oracles for linear networks (THEORY.md §7) and the exactness statements.
  {
    Stage stage(observer, r, "exact oracles");
    fill_linear_oracles(r, data);
  }
  fill_exactness(r);
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

}  // namespace kernelmc::validation
