#include "theory/deep_linear_posterior.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <boost/math/quadrature/gauss.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <boost/math/tools/toms748_solve.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "theory/deep_linear_oracles.hpp"
#include "theory/detail/messages.hpp"

namespace kernelmc::theory {

namespace {

// Integration windows end where the log-density has dropped by this much below its
// maximum: the neglected mass is below e^{−50} ≈ 2e-22 times the window's, far under
// any tolerance we ask for.
constexpr double kWindowDrop = 50.0;
// Bits of the toms748 roots (Boost eps_tolerance): 50 of double's 53.
constexpr int kRootBits = 50;

using detail::format_number;

// The root of a continuous f with f(a)·f(b) ≤ 0 (Boost toms748).
template <class F>
double bracketed_root(F f, double a, double b) {
  const double fa = f(a);
  const double fb = f(b);
  if (fa == 0.0) return a;
  if (fb == 0.0) return b;
  std::uintmax_t iterations = 200;
  const std::pair<double, double> bracket = boost::math::tools::toms748_solve(
      f, a, b, fa, fb, boost::math::tools::eps_tolerance<double>(kRootBits), iterations);
  return 0.5 * (bracket.first + bracket.second);
}

// The first point `from + step·2^k` (k = 0, 1, …) where `below(x)` holds, and the previous
// point (or `from`); `step` may be negative. Used to bracket a crossing beyond a region
// where the function is monotone.
template <class Predicate>
std::pair<double, double> step_until(Predicate below, double from, double step) {
  double previous = from;
  for (int k = 0; k < 64; ++k, step *= 2.0) {
    const double x = from + step;
    if (below(x)) return {previous, x};
    previous = x;
  }
  throw NumericalError("deep_linear_posterior: could not bracket the edge of the posterior "
                       "window starting at log u = " + format_number(from));
}

// The posterior of THEORY.md §7.1 in the eigenbasis of K₀ = Q diag(λ) Qᵀ, z = Qᵀy:
//   log N(y; 0, sK₀ + κ) = −½ Σ_i [z_i²/(sλ_i + κ) + log(sλ_i + κ)] + const,
//   log p(t) = (N/2)(t − e^t) + const for t = log u, u ~ χ²_N/N.
class ScaleProblem {
 public:
  ScaleProblem(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
               const Eigen::Ref<const Eigen::VectorXd>& targets)
      : N_(static_cast<double>(checked(spec, input_kernel, targets).width(1))),
        L_(static_cast<double>(spec.depth())),
        depth_(spec.depth()),
        G_(gain_product(spec, 2, spec.depth() + 1)),
        kappa_(spec.kappa) {
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(input_kernel);
    lambda_ = eigen.eigenvalues();
    const double largest = std::max(lambda_.cwiseAbs().maxCoeff(), 1e-300);
    if (lambda_(0) < -1e-10 * largest)
      throw DataError("input kernel K0 has eigenvalue " + format_number(lambda_(0)) +
                      ": must be positive semidefinite");
    lambda_ = lambda_.cwiseMax(0.0);
    Q_ = eigen.eigenvectors();
    z_ = Q_.transpose() * targets;
    z2_ = z_.array().square().matrix();
  }

  double N() const { return N_; }
  double L() const { return L_; }
  Eigen::Index depth() const { return depth_; }
  double G() const { return G_; }
  double kappa() const { return kappa_; }
  const Eigen::VectorXd& lambda() const { return lambda_; }
  const Eigen::VectorXd& z() const { return z_; }
  const Eigen::MatrixXd& Q() const { return Q_; }

  double log_likelihood(double s) const {
    const Eigen::ArrayXd v = s * lambda_.array() + kappa_;
    return -0.5 * (z2_.array() / v + v.log()).sum();
  }
  // log N(y; 0, sK₀ + κ) − log N(y; 0, rK₀ + κ), with the differences taken analytically
  // (v − v_r = (s − r)λ), so that large constant terms (‖y‖²/κ for tiny κ) cancel exactly
  // instead of leaving their round-off in the quadrature weights.
  double log_likelihood_ratio(double s, double r) const {
    const Eigen::ArrayXd v = s * lambda_.array() + kappa_;
    const Eigen::ArrayXd v_r = r * lambda_.array() + kappa_;
    const Eigen::ArrayXd relative = (s - r) * lambda_.array() / v_r;  // (v − v_r)/v_r
    return -0.5 * (-z2_.array() * relative / v + relative.log1p()).sum();
  }
  // log density of one t = log u_k, up to a constant, and its derivative.
  double log_prior(double t) const { return 0.5 * N_ * (t - std::exp(t)); }
  double log_prior_slope(double t) const { return 0.5 * N_ * (1.0 - std::exp(t)); }
  // log p(t) − log p(x) − (log p)'(x)(t − x) = −(N/2)e^x(e^d − 1 − d), d = t − x: the prior
  // tilted at x, evaluated without cancellation; it is ≤ 0 (log p is concave).
  double tilted_log_prior(double t, double x) const {
    const double d = t - x;
    return -0.5 * N_ * std::exp(x) * (std::expm1(d) - d);
  }
  // The profile Ψ(x) = L·log p(x) + log N(y; 0, G e^{Lx} K₀ + κ): the joint log-density at
  // u_1 = … = u_L = e^x, which is its maximum over the u_k at fixed s (log p is concave).
  double profile(double x) const { return L_ * log_prior(x) + log_likelihood(scale(x)); }
  double scale(double x) const { return G_ * std::exp(L_ * x); }
  // F(x) = u − 1 − (s/N)[yᵀAK₀Ay − tr(AK₀)], u = e^x (THEORY.md §7.1); dΨ/dx = −(LN/2)F.
  double saddle_residual(double x) const {
    const double s = scale(x);
    const Eigen::ArrayXd v = s * lambda_.array() + kappa_;
    const double bracket =
        (lambda_.array() * (z2_.array() - v) / v.square()).sum();  // yᵀAK₀Ay − tr(AK₀)
    return std::exp(x) - 1.0 - s * bracket / N_;
  }
  // [x_a, x_b] holds every root of F: F < 0 below x_a (u ≤ 1/4 and s tr K₀/(Nκ) ≤ 1/2,
  // since −(s/N)[…] ≤ s tr K₀/(Nκ)) and F ≥ 1 above x_b (since (s/N)[…] ≤ ‖y‖²/(4κN)).
  std::pair<double, double> root_bracket() const {
    const double trace = lambda_.sum();
    double x_a = std::log(0.25);
    if (trace > 0.0) x_a = std::min(x_a, std::log(N_ * kappa_ / (2.0 * trace * G_)) / L_);
    const double x_b = std::log(2.0 + z2_.sum() / (4.0 * kappa_ * N_));
    return {x_a, x_b};
  }

 private:
  static const core::ModelSpec& checked(const core::ModelSpec& spec,
                                        const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                        const Eigen::Ref<const Eigen::VectorXd>& targets) {
    check_deep_linear_inputs(spec, input_kernel, targets);
    return spec;
  }

  double N_, L_;
  Eigen::Index depth_;
  double G_, kappa_;
  Eigen::VectorXd lambda_, z2_, z_;
  Eigen::MatrixXd Q_;
};

// The saddle search: every sign change of F on a grid over the root bracket is refined
// with toms748; the root with the largest profile is the saddle (and the posterior mode
// of x = τ/L). The grid also gives the posterior window.
struct SaddleSearch {
  double x = 0.0;  // log u*
  int roots = 0;
  std::vector<double> grid;
  std::vector<double> profile_values;
};

SaddleSearch search_saddle(const ScaleProblem& problem) {
  const auto [x_a, x_b] = problem.root_bracket();
  // Spacing: an eighth of the prior s.d. of x = log u (≈ √(2/(NL))), at most 0.02.
  const double spacing = std::min(0.02, std::sqrt(2.0 / (problem.N() * problem.L())) / 8.0);
  const auto points = static_cast<Eigen::Index>(
      std::clamp(std::ceil((x_b - x_a) / spacing), 200.0, 200000.0));
  SaddleSearch search;
  search.grid.resize(static_cast<std::size_t>(points + 1));
  search.profile_values.resize(search.grid.size());
  double best = -std::numeric_limits<double>::infinity();
  auto residual = [&](double x) { return problem.saddle_residual(x); };
  double previous_residual = 0.0;
  for (std::size_t i = 0; i < search.grid.size(); ++i) {
    const double x = x_a + (x_b - x_a) * static_cast<double>(i) / static_cast<double>(points);
    search.grid[i] = x;
    search.profile_values[i] = problem.profile(x);
    const double r = residual(x);
    if (i > 0 && (previous_residual < 0.0) != (r < 0.0)) {
      const double root = bracketed_root(residual, search.grid[i - 1], x);
      ++search.roots;
      const double value = problem.profile(root);
      if (value > best) {
        best = value;
        search.x = root;
      }
    }
    previous_residual = r;
  }
  if (search.roots == 0 || !std::isfinite(best))
    throw NumericalError("deep_linear_scale_saddle: no root of the saddle equation for log u in [" +
                         format_number(x_a) + ", " + format_number(x_b) + "]");
  return search;
}

// [x_lo, x_hi] = hull of {x : Ψ(x) ≥ Ψ(x*) − kWindowDrop}. Outside the root bracket Ψ is
// monotone, so an edge beyond the grid is found by stepping outwards.
std::pair<double, double> profile_window(const ScaleProblem& problem, const SaddleSearch& search) {
  const double threshold = problem.profile(search.x) - kWindowDrop;
  auto excess = [&](double x) { return problem.profile(x) - threshold; };
  auto below = [&](double x) { return excess(x) < 0.0; };
  const std::vector<double>& grid = search.grid;
  const std::vector<double>& v = search.profile_values;
  // One edge: the outermost grid point inside the window on that side, the grid point
  // beyond it (or, at the end of the grid, a point found by stepping on), and the
  // crossing between the two.
  auto edge = [&](bool lower) {
    const std::size_t n = grid.size();
    double inside = search.x;
    double outside = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = lower ? k : n - 1 - k;
      if (v[i] < threshold) continue;
      inside = grid[i];
      if (k > 0) outside = grid[lower ? i - 1 : i + 1];
      break;
    }
    if (std::isnan(outside)) std::tie(inside, outside) = step_until(below, inside, lower ? -0.1 : 0.1);
    return bracketed_root(excess, std::min(inside, outside), std::max(inside, outside));
  };
  return {edge(true), edge(false)};
}

// The window of each single t_k (L ≥ 2). At fixed τ = Σ t_k the prior part Σ log p(t_k)
// falls short of its equal-split maximum L·log p(τ/L) by at least
//   D(t; τ) = L log p(τ/L) − log p(t) − (L−1) log p((τ − t)/(L−1))
// (concavity), and Ψ(τ/L) ≤ Ψ*, so a point within kWindowDrop of the maximum has τ/L in
// the profile window and D(t_k; τ) ≤ kWindowDrop for every k.
std::pair<double, double> coordinate_window(const ScaleProblem& problem, double x_lo, double x_hi) {
  if (problem.depth() == 1) return {x_lo, x_hi};
  const double L = problem.L();
  double lo = x_lo;
  double hi = x_hi;
  constexpr int kSamples = 9;  // τ values across the window (edges included)
  for (int k = 0; k < kSamples; ++k) {
    const double x = x_lo + (x_hi - x_lo) * k / (kSamples - 1.0);
    auto excess = [&](double t) {
      const double deficit = L * problem.log_prior(x) - problem.log_prior(t) -
                             (L - 1.0) * problem.log_prior((L * x - t) / (L - 1.0));
      return deficit - kWindowDrop;
    };
    auto beyond = [&](double t) { return excess(t) > 0.0; };
    const auto left = step_until(beyond, x, -0.05);
    const auto right = step_until(beyond, x, 0.05);
    lo = std::min(lo, bracketed_root(excess, left.second, left.first));
    hi = std::max(hi, bracketed_root(excess, right.first, right.second));
  }
  return {lo, hi};
}

// Normalised posterior weights on nodes s_n.
struct ScaleRule {
  std::vector<double> scale;
  std::vector<double> weight;
};

// Turns log-weights into normalised weights; nodes that underflow are dropped.
ScaleRule normalised_rule(const std::vector<double>& scales, const std::vector<double>& log_weights) {
  const double top = *std::max_element(log_weights.begin(), log_weights.end());
  ScaleRule rule;
  double total = 0.0;
  for (std::size_t n = 0; n < scales.size(); ++n) {
    const double w = std::exp(log_weights[n] - top);
    if (w == 0.0) continue;
    rule.scale.push_back(scales[n]);
    rule.weight.push_back(w);
    total += w;
  }
  for (double& w : rule.weight) w /= total;
  return rule;
}

// A fine rule and a coarser one on the same window; their disagreement is the error.
struct RulePair {
  ScaleRule fine;
  ScaleRule coarse;
};

// Composite 61-point Gauss–Kronrod on [lo, hi] with `panels` equal panels: nodes, Kronrod
// weights and the embedded 30-point Gauss weights (zero on Kronrod-only nodes).
struct CompositeRule {
  std::vector<double> nodes, kronrod, gauss;
};

CompositeRule composite_gauss_kronrod(double lo, double hi, int panels) {
  using Kronrod = boost::math::quadrature::gauss_kronrod<double, 61>;
  using Gauss = boost::math::quadrature::gauss<double, 30>;
  const auto& x = Kronrod::abscissa();  // x_0 = 0 < x_1 < … (non-negative half)
  const auto& wk = Kronrod::weights();
  const auto& wg = Gauss::weights();  // the Gauss nodes are x_1, x_3, … (30 is even)
  CompositeRule rule;
  const double half = 0.5 * (hi - lo) / panels;
  for (int p = 0; p < panels; ++p) {
    const double centre = lo + (2 * p + 1) * half;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double gauss_weight = (i % 2 == 1) ? wg[i / 2] : 0.0;
      for (double sign : {-1.0, 1.0}) {
        if (i == 0 && sign > 0) continue;
        rule.nodes.push_back(centre + sign * half * x[i]);
        rule.kronrod.push_back(half * wk[i]);
        rule.gauss.push_back(half * gauss_weight);
      }
    }
  }
  return rule;
}

// Tensor product of the composite rule over (t_1..t_L): the Kronrod tensor is the fine
// rule, the Gauss tensor (a subset of its nodes) the coarse one. The prior enters tilted
// at x* (the tilt β(τ − Lx*) depends on τ only and is added back), the likelihood
// relative to s = `scale_reference`, to keep the weights free of cancellation.
RulePair product_rules(const ScaleProblem& problem, double t_lo, double t_hi, double x_mode,
                       double scale_reference, int panels) {
  const CompositeRule rule = composite_gauss_kronrod(t_lo, t_hi, panels);
  const std::size_t n = rule.nodes.size();
  const Eigen::Index L = problem.depth();
  const double beta = problem.log_prior_slope(x_mode);
  std::vector<double> log_prior(n);
  for (std::size_t i = 0; i < n; ++i) log_prior[i] = problem.tilted_log_prior(rule.nodes[i], x_mode);
  std::vector<double> scales, fine_log, coarse_scales, coarse_log;
  std::vector<std::size_t> index(static_cast<std::size_t>(L), 0);
  while (true) {
    double t_sum = 0.0, log_kronrod = 0.0, log_gauss = 0.0;
    for (std::size_t k : index) {
      t_sum += rule.nodes[k];
      log_kronrod += std::log(rule.kronrod[k]) + log_prior[k];
      log_gauss += rule.gauss[k] > 0.0 ? std::log(rule.gauss[k]) + log_prior[k]
                                       : -std::numeric_limits<double>::infinity();
    }
    const double s = problem.G() * std::exp(t_sum);
    const double log_likelihood =
        beta * (t_sum - problem.L() * x_mode) + problem.log_likelihood_ratio(s, scale_reference);
    scales.push_back(s);
    fine_log.push_back(log_kronrod + log_likelihood);
    if (std::isfinite(log_gauss)) {
      coarse_scales.push_back(s);
      coarse_log.push_back(log_gauss + log_likelihood);
    }
    std::size_t k = 0;  // odometer over the L indices
    while (k < index.size() && ++index[k] == n) index[k++] = 0;
    if (k == index.size()) break;
  }
  return {normalised_rule(scales, fine_log), normalised_rule(coarse_scales, coarse_log)};
}

// Exact density of τ = Σ t_k on the grid τ_j = L·t_lo + j h, h = (t_hi − t_lo)/intervals,
// by L−1 discrete convolutions of the log-Gamma density (trapezoid rule; the density is
// ~e^{−kWindowDrop} at the window edges, so the end corrections vanish). The density is
// tilted at x* (ScaleProblem::tilted_log_prior), so that it stays ≤ 1; the tilt of the
// sum, β(τ − Lx*), is added back in the weights; the likelihood enters relative to
// s = `scale_reference`.
ScaleRule convolution_rule(const ScaleProblem& problem, double t_lo, double t_hi, double x_mode,
                           double scale_reference, Eigen::Index intervals) {
  const double h = (t_hi - t_lo) / static_cast<double>(intervals);
  const double beta = problem.log_prior_slope(x_mode);
  Eigen::VectorXd single(intervals + 1);
  for (Eigen::Index i = 0; i <= intervals; ++i) {
    single(i) = std::exp(problem.tilted_log_prior(t_lo + h * static_cast<double>(i), x_mode));
  }
  Eigen::VectorXd density = single;
  for (Eigen::Index k = 2; k <= problem.depth(); ++k) {
    Eigen::VectorXd next = Eigen::VectorXd::Zero(density.size() + intervals);
    for (Eigen::Index i = 0; i <= intervals; ++i)
      next.segment(i, density.size()) += single(i) * density;
    density = next;
  }
  std::vector<double> scales, log_weights;
  for (Eigen::Index j = 0; j < density.size(); ++j) {
    if (density(j) <= 0.0) continue;
    const double tau = problem.L() * t_lo + h * static_cast<double>(j);
    const double s = problem.G() * std::exp(tau);
    scales.push_back(s);
    log_weights.push_back(std::log(density(j)) + beta * (tau - problem.L() * x_mode) +
                          problem.log_likelihood_ratio(s, scale_reference));
  }
  return normalised_rule(scales, log_weights);
}

// E[s] and Var[s] under a rule, through d = s/reference − 1 (no cancellation in Var).
std::pair<double, double> scale_moments(const ScaleRule& rule, double reference) {
  double m1 = 0.0, m2 = 0.0;
  for (std::size_t n = 0; n < rule.scale.size(); ++n) {
    const double d = rule.scale[n] / reference - 1.0;
    m1 += rule.weight[n] * d;
    m2 += rule.weight[n] * d * d;
  }
  return {reference * (1.0 + m1), reference * reference * (m2 - m1 * m1)};
}

struct ConvergedRules {
  RulePair rules;
  ScalePosterior posterior;
};

ConvergedRules converged_rules(const ScaleProblem& problem, const ScaleIntegrationSettings& settings) {
  const double tol = settings.relative_tolerance;
  if (!(tol > 0.0 && tol < 1.0))
    throw ConfigError("scale_integration.relative_tolerance = " + format_number(tol) +
                      ": must lie in (0, 1)");
  ScaleIntegration method = settings.method;
  if (method == ScaleIntegration::automatic)
    method = problem.depth() <= 2 ? ScaleIntegration::product_gauss_kronrod
                                  : ScaleIntegration::log_scale_convolution;
  if (method == ScaleIntegration::product_gauss_kronrod && problem.depth() > 2)
    throw ConfigError("scale_integration.method = product_gauss_kronrod: needs L <= 2 (cost "
                      "(61 panels)^L), model.depth = " + std::to_string(problem.depth()));

  const SaddleSearch search = search_saddle(problem);
  const auto [x_lo, x_hi] = profile_window(problem, search);
  const auto [t_lo, t_hi] = coordinate_window(problem, x_lo, x_hi);
  const double reference = problem.scale(search.x);

  // Resolutions: 2, 4, … panels per dimension while the tensor rule has at most
  // kMaxProductNodes nodes (product), or 64..8192 grid intervals (convolution).
  const bool product = method == ScaleIntegration::product_gauss_kronrod;
  constexpr double kMaxProductNodes = 4e6;
  int finest = 8192;
  if (product) {
    finest = 2;
    while (std::pow(61.0 * 2 * finest, problem.L()) <= kMaxProductNodes) finest *= 2;
  }
  ConvergedRules result;
  for (int resolution = product ? 2 : 64; resolution <= finest; resolution *= 2) {
    result.rules =
        product ? product_rules(problem, t_lo, t_hi, search.x, reference, resolution)
                : RulePair{convolution_rule(problem, t_lo, t_hi, search.x, reference, resolution),
                           convolution_rule(problem, t_lo, t_hi, search.x, reference, resolution / 2)};
    const auto [mean, variance] = scale_moments(result.rules.fine, reference);
    const auto [coarse_mean, coarse_variance] = scale_moments(result.rules.coarse, reference);
    result.posterior = ScalePosterior{mean, variance, std::abs(mean - coarse_mean),
                                      std::abs(variance - coarse_variance)};
    if (result.posterior.mean_error <= tol * mean && result.posterior.variance_error <= tol * variance)
      return result;
  }
  throw NumericalError("deep_linear_scale_posterior: relative error of E[s|y] " +
                       format_number(result.posterior.mean_error / result.posterior.mean) +
                       ", of Var[s|y] " +
                       format_number(result.posterior.variance_error / result.posterior.variance) +
                       " at the finest resolution " + std::to_string(finest) +
                       ": above scale_integration.relative_tolerance " + format_number(tol));
}

// E_{s|y}[(m_s m_sᵀ + Σ_s)/s] in the eigenbasis of K₀: with r_i = λ_i z_i/(sλ_i + κ),
// (m_s m_sᵀ + Σ_s)/s = Q[s·r rᵀ + diag(λ_i κ/(sλ_i + κ))]Qᵀ (THEORY.md §7.2).
Eigen::MatrixXd expected_readout_term(const ScaleProblem& problem, const ScaleRule& rule) {
  const Eigen::ArrayXd lambda = problem.lambda().array();
  const Eigen::ArrayXd lambda_z = lambda * problem.z().array();
  const auto nodes = static_cast<Eigen::Index>(rule.scale.size());
  Eigen::MatrixXd R(lambda.size(), nodes);
  Eigen::ArrayXd diagonal = Eigen::ArrayXd::Zero(lambda.size());
  for (Eigen::Index n = 0; n < nodes; ++n) {
    const double s = rule.scale[static_cast<std::size_t>(n)];
    const double w = rule.weight[static_cast<std::size_t>(n)];
    const Eigen::ArrayXd v = s * lambda + problem.kappa();
    R.col(n) = (std::sqrt(w * s) * lambda_z / v).matrix();
    diagonal += w * problem.kappa() * lambda / v;
  }
  Eigen::MatrixXd inner = Eigen::MatrixXd(diagonal.matrix().asDiagonal());
  inner.selfadjointView<Eigen::Lower>().rankUpdate(R);
  const Eigen::MatrixXd full = inner.selfadjointView<Eigen::Lower>();
  return problem.Q() * full * problem.Q().transpose();
}

}  // namespace

ScalePosterior deep_linear_scale_posterior(const core::ModelSpec& spec,
                                           const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                           const Eigen::Ref<const Eigen::VectorXd>& targets,
                                           const ScaleIntegrationSettings& settings) {
  const ScaleProblem problem(spec, input_kernel, targets);
  return converged_rules(problem, settings).posterior;
}

OneHiddenLayerPosterior one_hidden_layer_posterior(
    const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
    const Eigen::Ref<const Eigen::VectorXd>& targets, const ScaleIntegrationSettings& settings) {
  const ScaleProblem problem(spec, input_kernel, targets);
  if (problem.depth() != 1)
    throw ConfigError("model.depth = " + std::to_string(problem.depth()) +
                      ": one_hidden_layer_posterior needs L = 1 (THEORY.md §7.2)");
  const ConvergedRules converged = converged_rules(problem, settings);
  const double g = spec.g(2);
  const double N = problem.N();
  const Eigen::MatrixXd fine = expected_readout_term(problem, converged.rules.fine);
  const Eigen::MatrixXd coarse = expected_readout_term(problem, converged.rules.coarse);
  OneHiddenLayerPosterior result;
  result.scale = converged.posterior;
  Eigen::MatrixXd kernel = g * (1.0 - 1.0 / N) * input_kernel + (g / N) * fine;
  result.mean_kernel = 0.5 * (kernel + kernel.transpose());
  result.kernel_error = (g / N) * (fine - coarse).cwiseAbs().maxCoeff();
  return result;
}

ScaleSaddle deep_linear_scale_saddle(const core::ModelSpec& spec,
                                     const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                     const Eigen::Ref<const Eigen::VectorXd>& targets) {
  const ScaleProblem problem(spec, input_kernel, targets);
  const SaddleSearch search = search_saddle(problem);
  return ScaleSaddle{std::exp(search.x), problem.scale(search.x), search.roots};
}

}  // namespace kernelmc::theory
