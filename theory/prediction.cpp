#include "theory/prediction.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cassert>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "theory/detail/parallel_for.hpp"
#include "theory/gp_likelihood.hpp"
#include "theory/nngp.hpp"
#include "theory/one_loop.hpp"
#include "theory/one_loop_route.hpp"
#include "theory/prior_moments.hpp"
#include "theory/tilted_expectations.hpp"

namespace kernelmc::theory {

namespace {

// GP regression on an augmented kernel: the P training points first, then T test points.
struct Regression {
  Eigen::Index P = 0, T = 0;
  Eigen::MatrixXd A;  // (K + κI)⁻¹, P×P
  Eigen::MatrixXd a;  // (K + κI)⁻¹Y, P×D
  Eigen::MatrixXd k;  // C_{tr,*}, P×T
  Eigen::MatrixXd b;  // (K + κI)⁻¹k, P×T

  Regression(const Eigen::Ref<const Eigen::MatrixXd>& C, const Eigen::Ref<const Eigen::MatrixXd>& Y, double kappa)
      : P(Y.rows()), T(C.rows() - Y.rows()) {
    assert(T >= 0);
    const Eigen::LLT<Eigen::MatrixXd> llt = regularised_cholesky("prediction", C, P, kappa);
    A = regularised_inverse(llt);
    a = llt.solve(Y);
    k = C.topRightCorner(P, T);
    b = llt.solve(k);
  }

  // u_* = e_* − (b_*, 0) for every test point, (P+T)×T.
  Eigen::MatrixXd test_directions() const {
    Eigen::MatrixXd U = Eigen::MatrixXd::Zero(P + T, T);
    U.topRows(P) = -b;
    U.bottomRows(T).setIdentity();
    return U;
  }
  // M padded with zero rows to P+T rows (a vector on the training points, extended).
  Eigen::MatrixXd padded(const Eigen::MatrixXd& M) const {
    Eigen::MatrixXd out = Eigen::MatrixXd::Zero(P + T, M.cols());
    out.topRows(P) = M;
    return out;
  }
};

// sym(x yᵀ) = ½(x yᵀ + y xᵀ).
Eigen::MatrixXd symmetric_outer(const Eigen::VectorXd& x, const Eigen::VectorXd& y) {
  const Eigen::MatrixXd M = x * y.transpose();
  return 0.5 * (M + M.transpose());
}

double frobenius(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::MatrixXd>& Y) {
  return X.cwiseProduct(Y).sum();
}

// E_δ[(δu)_trᵀ A (δw)_tr] for δ with covariance Σ: Σ_i ⟨sym(e_i uᵀ), Σ[sym(Ã_i wᵀ)]⟩ =
// Σ_i (Σ[sym(Ã_i wᵀ)] u)_i, Ã_i column i of A padded. One Σ-application per training point
// serves every u.
Eigen::VectorXd curvature_contraction(const Eigen::MatrixXd& padded_A, const Eigen::VectorXd& w,
                                      const Eigen::MatrixXd& U, const CovarianceOperator& covariance) {
  Eigen::VectorXd out = Eigen::VectorXd::Zero(U.cols());
  for (Eigen::Index i = 0; i < padded_A.cols(); ++i) {
    const Eigen::MatrixXd R = covariance(symmetric_outer(padded_A.col(i), w));
    out += (R.row(i) * U).transpose();
  }
  return out;
}

// Throws ConfigError where choose_one_loop_route picks the operator route: the predictions
// below need the explicit Σ (or its replicates).
void require_explicit_route(const core::ModelSpec& spec, const Eigen::MatrixXd& X, const core::TheorySettings& settings) {
  const OneLoopRouteChoice choice =
      choose_one_loop_route(spec, nngp_kernels(spec, X, settings.quadrature_tolerance), settings, false);
  if (choice.route == OneLoopRoute::operator_form)
    throw ConfigError("one_loop_gp_prediction: P + T = " + std::to_string(X.rows()) +
                      " points: the one-loop predictions need the explicit covariance, and " + choice.reasons.back());
}

void check_test_inputs(const core::ModelSpec& spec, const core::Dataset& data,
                       const Eigen::Ref<const Eigen::MatrixXd>& test_inputs) {
  core::validate(data);
  check_one_loop_inputs(spec, data.inputs, data.targets);
  (void)augmented_inputs(data, test_inputs);
}

}  // namespace

Eigen::MatrixXd augmented_inputs(const core::Dataset& training, const Eigen::Ref<const Eigen::MatrixXd>& test_inputs) {
  if (test_inputs.rows() < 1) throw DataError("prediction: test_inputs has no rows: need at least one test point");
  if (test_inputs.cols() != training.input_dim())
    throw DataError("prediction: test_inputs have d = " + std::to_string(test_inputs.cols()) +
                    " columns: must equal the training inputs' d = " + std::to_string(training.input_dim()));
  if (!test_inputs.allFinite()) throw DataError("prediction: test_inputs must be finite");
  Eigen::MatrixXd X(training.size() + test_inputs.rows(), training.input_dim());
  X.topRows(training.size()) = training.inputs;
  X.bottomRows(test_inputs.rows()) = test_inputs;
  return X;
}

GpPrediction gp_prediction(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                           const Eigen::Ref<const Eigen::MatrixXd>& targets, double kappa) {
  const Regression r(kernel, targets, kappa);
  // THEORY.md §1.5: mean k_*ᵀ(K + κ)⁻¹y, variance C_** − k_*ᵀ(K + κ)⁻¹k_*.
  return GpPrediction{r.k.transpose() * r.a,
                      kernel.diagonal().tail(r.T) - r.k.cwiseProduct(r.b).colwise().sum().transpose()};
}

GpPrediction nngp_prediction(const core::ModelSpec& spec, const core::Dataset& data,
                             const Eigen::Ref<const Eigen::MatrixXd>& test_inputs,
                             const core::TheorySettings& settings) {
  check_test_inputs(spec, data, test_inputs);
  core::validate(settings);
  const core::KernelStack C =
      nngp_kernels(spec, augmented_inputs(data, test_inputs), settings.quadrature_tolerance);
  return gp_prediction(C.layer(C.top_layer()), data.targets, spec.kappa);
}

core::KernelStack extend_fb_kernels(const core::ModelSpec& spec, const core::Dataset& data,
                                    const Eigen::Ref<const Eigen::MatrixXd>& test_inputs,
                                    const FbSolution& solution, const FbSettings& settings) {
  check_test_inputs(spec, data, test_inputs);
  validate(settings);
  const Eigen::Index top = spec.depth() + 1;
  const Eigen::Index P = data.size();
  if (solution.tilts.top_layer() != top || solution.tilts.layer(top).rows() != P)
    throw DataError("extend_fb_kernels: the FB solution has " + std::to_string(solution.tilts.top_layer()) +
                    " layers of " + std::to_string(solution.tilts.layer(1).rows()) +
                    " points: must be the solution for this model (L + 1 = " + std::to_string(top) +
                    ") on these data (P = " + std::to_string(P) + ")");
  const Eigen::MatrixXd X = augmented_inputs(data, test_inputs);
  const Eigen::Index n = X.rows();
  if (solution.method == TiltMethod::quadrature && n > kMaxQuadraturePoints)
    throw ConfigError("theory.fb.method = quadrature: the tensor rule needs P + T <= " +
                      std::to_string(kMaxQuadraturePoints) + ", P + T = " + std::to_string(n));
  const PointEstimateOptions options{.gradient_form = settings.gradient_form,
                                     .exact_first_order = settings.exact_first_order,
                                     .pair_tolerance = settings.pair_tolerance,
                                     .gradient = false};
  const GaussianPoints rule = solution.method == TiltMethod::quadrature
                                  ? tensor_gauss_hermite_points(n, settings.quadrature_nodes)
                                  : GaussianPoints{};

  core::KernelStack C = core::zero_kernel_stack(top, n);
  C.layer(1) = core::input_kernel(X, spec.g(1), spec.bias_variance);
  for (Eigen::Index l = 2; l <= top; ++l) {
    // (F) on the augmented measure, the tilt zero on the test rows (see the header).
    Eigen::MatrixXd tilt = Eigen::MatrixXd::Zero(n, n);
    tilt.topLeftCorner(P, P) = solution.tilts.layer(l);
    const double g = spec.g(l);
    TiltedExpectations t;
    switch (solution.method) {
      case TiltMethod::linear_closed_form: t = linear_tilted_expectations(g, C.layer(l - 1), tilt); break;
      case TiltMethod::first_order:
        t = first_order_tilted_expectations(spec.activation, g, C.layer(l - 1), tilt, settings.pair_tolerance);
        break;
      case TiltMethod::quadrature:
        t = point_set_tilted_expectations(spec.activation, g, C.layer(l - 1), tilt, rule, options);
        break;
      case TiltMethod::importance_sampling:
      case TiltMethod::automatic:  // never in a solution; treated as importance sampling
        t = point_set_tilted_expectations(spec.activation, g, C.layer(l - 1), tilt,
                                          tilted_base_draws(settings.seed, l, settings.importance_samples, n),
                                          options);
        break;
    }
    const Eigen::MatrixXd M = spec.bias_variance * Eigen::MatrixXd::Ones(n, n) + g * t.second_moment;
    C.layer(l) = 0.5 * (M + M.transpose());
  }
  return C;
}

GpPrediction fb_prediction(const core::ModelSpec& spec, const core::Dataset& data,
                           const Eigen::Ref<const Eigen::MatrixXd>& test_inputs, const FbSolution& solution,
                           const FbSettings& settings) {
  check_test_inputs(spec, data, test_inputs);
  const Eigen::Index T = test_inputs.rows();
  const Eigen::Index top = spec.depth() + 1;
  GpPrediction out{Eigen::MatrixXd(T, data.output_dim()), Eigen::VectorXd(T)};
  for (Eigen::Index t = 0; t < T; ++t) {
    const core::KernelStack C = extend_fb_kernels(spec, data, test_inputs.row(t), solution, settings);
    const GpPrediction one = gp_prediction(C.layer(top), data.targets, spec.kappa);
    out.mean.row(t) = one.mean.row(0);
    out.variance(t) = one.variance(0);
  }
  return out;
}

PredictiveCorrections predictive_corrections(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                                             const Eigen::Ref<const Eigen::MatrixXd>& targets, double kappa,
                                             const Eigen::Ref<const Eigen::MatrixXd>& shift,
                                             const CovarianceOperator& covariance) {
  const Regression r(kernel, targets, kappa);
  const Eigen::Index T = r.T;
  const Eigen::Index D = targets.cols();
  const Eigen::MatrixXd U = r.test_directions();  // u_*
  const Eigen::MatrixXd a = r.padded(r.a);         // ã
  const Eigen::MatrixXd A = r.padded(r.A);         // columns Ã_i
  PredictiveCorrections out;
  // ∇m·Δ = u_*ᵀΔã and ∇v·Δ = u_*ᵀΔu_* (header).
  out.mean_shift = U.transpose() * shift * a;
  out.variance_shift = (U.transpose() * shift * U).diagonal();
  // ½Σ:∇²m = −E[(δu)_trᵀA(δã)_tr], ½Σ:∇²v = −E[(δu)_trᵀA(δu)_tr]; ∇mᵀΣ∇m = ⟨∇m, Σ[∇m]⟩.
  out.mean_curvature.resize(T, D);
  out.variance_fluctuation.resize(T, D);
  out.variance_curvature.resize(T);
  for (Eigen::Index d = 0; d < D; ++d) {
    out.mean_curvature.col(d) = -curvature_contraction(A, a.col(d), U, covariance);
    for (Eigen::Index t = 0; t < T; ++t) {
      const Eigen::MatrixXd gradient = symmetric_outer(U.col(t), a.col(d));
      out.variance_fluctuation(t, d) = frobenius(gradient, covariance(gradient));
    }
  }
  for (Eigen::Index t = 0; t < T; ++t)
    out.variance_curvature(t) = -curvature_contraction(A, U.col(t), U.col(t), covariance)(0);
  return out;
}

PredictiveMoments superposition_prediction(const Eigen::Ref<const Eigen::MatrixXd>& kernel,
                                           const Eigen::Ref<const Eigen::MatrixXd>& targets, double kappa,
                                           const Eigen::Ref<const Eigen::MatrixXd>& mean_shift,
                                           const Eigen::Ref<const Eigen::MatrixXd>& covariance) {
  const Eigen::Index n = kernel.rows();
  assert(covariance.rows() == core::triangle_size(n));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(covariance);
  const Eigen::VectorXd& lambda = eigen.eigenvalues();
  const double cutoff = 1e-14 * std::max(lambda.maxCoeff(), 0.0);

  // The nodes δ and weights of the rule (header): the centre μ, then μ ± √(3λ_j) U_j.
  std::vector<Eigen::MatrixXd> nodes{mean_shift};
  std::vector<double> weights{1.0};
  for (Eigen::Index j = 0; j < lambda.size(); ++j) {
    if (!(lambda(j) > cutoff)) continue;
    const Eigen::MatrixXd step =
        std::sqrt(3.0 * lambda(j)) * core::from_upper_triangle(eigen.eigenvectors().col(j), n);
    for (double sign : {1.0, -1.0}) {
      nodes.push_back(mean_shift + sign * step);
      weights.push_back(1.0 / 6.0);
    }
    weights[0] -= 1.0 / 3.0;
  }

  // Weights × e^{ℓ(C + δ) − ℓ(C)}, and F at every node.
  const double reference = log_likelihood(kernel, targets, kappa);
  const std::size_t count = nodes.size();
  std::vector<GpPrediction> at(count);
  std::vector<double> w(count);
  double total = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    const Eigen::MatrixXd C = kernel + nodes[i];
    at[i] = gp_prediction(C, targets, kappa);
    w[i] = weights[i] * std::exp(log_likelihood(C, targets, kappa) - reference);
    total += w[i];
  }
  const Eigen::Index T = at[0].mean.rows();
  const Eigen::Index D = at[0].mean.cols();
  PredictiveMoments out{Eigen::MatrixXd::Zero(T, D), Eigen::MatrixXd::Zero(T, D)};
  Eigen::VectorXd mean_variance = Eigen::VectorXd::Zero(T);
  for (std::size_t i = 0; i < count; ++i) {
    out.mean += (w[i] / total) * at[i].mean;
    mean_variance += (w[i] / total) * at[i].variance;
  }
  // Var[f_*] = E[v] + E[(m − E m)²] (law of total variance over the superposition).
  for (std::size_t i = 0; i < count; ++i) out.variance += (w[i] / total) * (at[i].mean - out.mean).cwiseAbs2();
  out.variance.colwise() += mean_variance;
  return out;
}

OneLoopGpPrediction one_loop_gp_prediction(const core::ModelSpec& spec, const core::Dataset& data,
                                           const Eigen::Ref<const Eigen::MatrixXd>& test_inputs,
                                           const core::TheorySettings& settings, std::uint64_t seed,
                                           PredictionRoute route) {
  check_test_inputs(spec, data, test_inputs);
  core::validate(settings);
  const Eigen::Index top = spec.depth() + 1;
  const Eigen::MatrixXd X = augmented_inputs(data, test_inputs);
  const Eigen::MatrixXd& Y = data.targets;
  const double kappa = spec.kappa;

  require_explicit_route(spec, X, settings);
  const PriorMoments prior = prior_moments(spec, X, settings, seed);
  if (route == PredictionRoute::gradient_hessian)
    return one_loop_gp_prediction(spec, data, test_inputs, prior,
                                  prior_covariance_replicates(spec, prior.nngp, settings, seed));
  if (prior.method_used != core::FourPointMethod::quadrature)
    throw ConfigError("theory.four_point = " + std::string(core::four_point_method_name(prior.method_used)) +
                      ": the superposition route needs the explicit quadrature covariance (P + T <= "
                      "theory.quadrature_max_points)");
  const Eigen::MatrixXd& C = prior.nngp.layer(top);
  OneLoopGpPrediction out;
  out.method_used = prior.method_used;
  out.nngp = gp_prediction(C, Y, kappa);
  out.mean_standard_error = Eigen::MatrixXd::Zero(test_inputs.rows(), Y.cols());
  out.variance_standard_error = Eigen::MatrixXd::Zero(test_inputs.rows(), Y.cols());
  const PredictiveMoments moments = superposition_prediction(
      C, Y, kappa, prior.mean_shift.layer(top), prior.covariance_of(top));
  out.mean = moments.mean;
  out.variance = moments.variance;
  return out;
}

OneLoopGpPrediction one_loop_gp_prediction(const core::ModelSpec& spec, const core::Dataset& data,
                                           const Eigen::Ref<const Eigen::MatrixXd>& test_inputs,
                                           const PriorMoments& prior, const PriorCovarianceReplicates& covariance) {
  check_test_inputs(spec, data, test_inputs);
  const Eigen::Index top = spec.depth() + 1;
  const Eigen::Index T = test_inputs.rows();
  if (prior.nngp.top_layer() != top || prior.nngp.layer(top).rows() != data.size() + T)
    throw DataError("one_loop_gp_prediction: prior moments on " + std::to_string(prior.nngp.layer(1).rows()) +
                    " inputs do not fit " + std::to_string(data.size()) + " training and " + std::to_string(T) +
                    " test points of a depth-" + std::to_string(spec.depth()) + " model");
  const Eigen::MatrixXd& Y = data.targets;
  const double kappa = spec.kappa;
  const Eigen::MatrixXd& C = prior.nngp.layer(top);
  const Eigen::MatrixXd& mu = prior.mean_shift.layer(top);
  OneLoopGpPrediction out;
  out.method_used = prior.method_used;
  out.nngp = gp_prediction(C, Y, kappa);

  // Gradient/Hessian route, once per replicate of Σ (δC = Σ[∇ℓ] with the same replicate).
  const Eigen::MatrixXd G = likelihood_gradient(C, Y, kappa);
  const Eigen::Index B = static_cast<Eigen::Index>(covariance.replicates.size());
  std::vector<PredictiveCorrections> runs(static_cast<std::size_t>(B));
  detail::parallel_for(B, [&](Eigen::Index b) {
    const PriorCovarianceOperator& sigma = covariance.replicates[static_cast<std::size_t>(b)];
    const CovarianceOperator apply = [&](const Eigen::MatrixXd& M) { return sigma.apply(top, M); };
    runs[static_cast<std::size_t>(b)] = predictive_corrections(C, Y, kappa, mu + apply(G), apply);
  });
  std::vector<Eigen::MatrixXd> mean_terms, variance_terms;
  std::vector<Eigen::MatrixXd> mean_shift, mean_curvature, variance_shift, variance_curvature, fluctuation;
  for (const PredictiveCorrections& r : runs) {
    mean_terms.push_back(r.mean_shift + r.mean_curvature);
    variance_terms.push_back(r.variance_fluctuation.colwise() + (r.variance_shift + r.variance_curvature));
    mean_shift.push_back(r.mean_shift);
    mean_curvature.push_back(r.mean_curvature);
    variance_shift.push_back(r.variance_shift);
    variance_curvature.push_back(r.variance_curvature);
    fluctuation.push_back(r.variance_fluctuation);
  }
  out.terms = PredictiveCorrections{replicate_estimate(mean_shift).value, replicate_estimate(mean_curvature).value,
                                    replicate_estimate(variance_shift).value,
                                    replicate_estimate(variance_curvature).value, replicate_estimate(fluctuation).value};
  const MatrixEstimate mean_correction = replicate_estimate(mean_terms);
  const MatrixEstimate variance_correction = replicate_estimate(variance_terms);
  out.mean = out.nngp.mean + mean_correction.value;
  out.variance = variance_correction.value.colwise() + out.nngp.variance;

  // μ's share of the error: |∇F·μ − ∇F·μ̂| ≤ Σ_ab |∂F/∂μ_ab| SE(μ_ab) ≤ |u|ᵀ SE |w|.
  const Regression r(C, Y, kappa);
  const Eigen::MatrixXd U = r.test_directions().cwiseAbs();
  const Eigen::MatrixXd& se = prior.mean_shift_standard_error.layer(top);
  out.mean_standard_error = mean_correction.standard_error + U.transpose() * se * r.padded(r.a).cwiseAbs();
  out.variance_standard_error =
      variance_correction.standard_error.colwise() + (U.transpose() * se * U).diagonal();
  return out;
}

}  // namespace kernelmc::theory
