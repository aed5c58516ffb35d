#include "validation/theory_comparison.hpp"

#include <algorithm>
#include <boost/math/distributions/fisher_f.hpp>
#include <cmath>
#include <limits>

#include "core/kernel_stack.hpp"
#include "sampling/kernel_observables.hpp"
#include "validation/comparison.hpp"

namespace kernelmc::validation {

namespace {

// Weights of D² = Σ_ab e_ab² over the upper triangle: 1 on the diagonal, 2 off it.
Eigen::VectorXd triangle_weights(Eigen::Index P) {
  Eigen::VectorXd w(core::triangle_size(P));
  for (Eigen::Index k = 0; k < w.size(); ++k) {
    const auto [a, b] = core::triangle_pair(k, P);
    w(k) = a == b ? 1.0 : 2.0;
  }
  return w;
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

// The covariance of estimate − prediction: the estimate's plus the theory's own variance.
Eigen::MatrixXd difference_covariance(const Estimate& est, const Eigen::MatrixXd& prediction_se) {
  Eigen::MatrixXd cov = est.covariance;
  cov.diagonal() += core::upper_triangle(prediction_se).cwiseAbs2();
  return cov;
}

void fill_frobenius(TheoryComparison& c, const Eigen::VectorXd& e, const Eigen::MatrixXd& cov,
                    double reference_norm) {
  const Eigen::VectorXd w = triangle_weights(c.prediction.rows());
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
  c.relative = f.D / reference_norm;
  c.relative_se = c.frobenius_se / reference_norm;
}

// `u` is the target functional (target_functional).
void fill_tests(TheoryComparison& c, const Eigen::VectorXd& e, const Eigen::MatrixXd& cov, Eigen::Index dof,
                double alpha, const Eigen::VectorXd& u) {
  const Eigen::Index K = e.size();
  const Eigen::VectorXd se = cov.diagonal().cwiseMax(0.0).cwiseSqrt();
  Eigen::VectorXd z(K);
  for (Eigen::Index k = 0; k < K; ++k) z(k) = se(k) > 0.0 ? e(k) / se(k) : 0.0;
  c.z = core::from_upper_triangle(z, c.prediction.rows());
  c.max_abs_z = z.cwiseAbs().maxCoeff();
  const double target_variance = u.dot(cov * u);
  c.target_z = target_variance > 0.0 ? u.dot(e) / std::sqrt(target_variance) : 0.0;
  // SEs from batch means or replicates: Student-t, not normal, quantiles (a normal threshold
  // over K = 36 entries at 19 dof has a family-wise rate of 6 %, not 1 %).
  c.bonferroni_z = bonferroni_t(alpha / 2.0, K, dof);
  c.target_threshold = bonferroni_t(alpha / 2.0, 1, dof);
  const bool within_threshold = c.max_abs_z <= c.bonferroni_z && std::abs(c.target_z) <= c.target_threshold;
  // Hotelling needs at least as many degrees of freedom as entries: with ν < K the
  // estimated covariance has rank ≤ ν < K, its pseudo-inverse tests a random subspace, and
  // F(k, ν − k + 1) at k = rank ≈ ν has no power (a 20-replicate route study at P = 8, K = 36,
  // passed the NNGP at max|z| = 99). Then, and beyond kMaxHotellingEntries, max|z| decides.
  if (K > kMaxHotellingEntries || dof < K) {
    c.chi_square = c.p_value = std::numeric_limits<double>::quiet_NaN();
    c.consistent = within_threshold;
    return;
  }
  const ChiSquareTest chi = chi_square_test(e, cov);
  c.chi_square = chi.statistic;
  c.chi_square_rank = chi.dof;
  const double nu = static_cast<double>(dof), k = chi.dof;
  if (k >= 1.0 && nu - k + 1.0 >= 1.0) {
    const double F = chi.statistic * (nu - k + 1.0) / (nu * k);
    const boost::math::fisher_f dist(k, nu - k + 1.0);
    c.p_value = boost::math::cdf(boost::math::complement(dist, F));
    c.test_defined = true;
    c.consistent = c.p_value >= alpha;
  } else {
    c.p_value = std::numeric_limits<double>::quiet_NaN();
    c.consistent = within_threshold;
  }
}

}  // namespace

Estimate posterior_estimate(const std::vector<const ChainRecord*>& chains, std::size_t li) {
  const Eigen::Index K = chains.front()->batch_means[li].rows();
  Estimate out;
  out.entries = Eigen::VectorXd::Zero(K);
  double n = 0.0;
  Eigen::Index J = 0;
  for (const ChainRecord* c : chains) {
    const Eigen::MatrixXd& m = c->batch_means[li];
    out.entries.noalias() += m * c->batch_sizes;
    n += c->batch_sizes.sum();
    J += m.cols();
  }
  out.entries /= n;
  out.covariance = Eigen::MatrixXd::Zero(K, K);
  for (const ChainRecord* c : chains) {
    const Eigen::MatrixXd centred = c->batch_means[li].colwise() - out.entries;
    out.covariance.noalias() += centred * c->batch_sizes.asDiagonal() * centred.transpose();
  }
  out.dof = J - 1;
  out.covariance /= static_cast<double>(J - 1) * n;
  return out;
}

Estimate adaptation_estimate(const Estimate& posterior, const PriorRecord& prior, std::size_t li) {
  Estimate a = posterior;
  a.entries -= prior.mean[li];
  a.covariance += prior.covariance[li] / static_cast<double>(prior.networks);
  return a;
}

LayerEstimates chain_estimates(const std::vector<const ChainRecord*>& chains, const PriorRecord& prior,
                               std::size_t li) {
  LayerEstimates e;
  e.posterior = posterior_estimate(chains, li);
  e.adaptation = adaptation_estimate(e.posterior, prior, li);
  e.prior = {prior.mean[li], prior.covariance[li] / static_cast<double>(prior.networks), prior.networks - 1};
  return e;
}

LayerEstimates route_estimates(const RouteLayerEstimate& r) {
  return {{r.posterior, r.posterior_covariance, r.degrees_of_freedom},
          {r.prior, r.prior_covariance, r.degrees_of_freedom},
          {r.adaptation, r.adaptation_covariance, r.degrees_of_freedom}};
}

LayerEstimates layer_estimates(const WidthRecords& records, std::size_t li) {
  if (records.route != nullptr) return route_estimates(records.route->layers[li]);
  return chain_estimates(records.chains, *records.prior, li);
}

TheoryComparison compare_prediction(const Estimate& est, const Prediction& pred, double alpha, double width,
                                    const Eigen::MatrixXd& Y) {
  TheoryComparison c;
  c.theory = pred.theory;
  c.quantity = pred.quantity;
  c.prediction = pred.value;
  c.prediction_se = pred.standard_error;
  c.entries = core::triangle_size(pred.value.rows());
  const Eigen::VectorXd e = est.entries - core::upper_triangle(pred.value);
  const Eigen::MatrixXd cov = difference_covariance(est, pred.standard_error);
  fill_frobenius(c, e, cov, pred.reference_norm);
  fill_tests(c, e, cov, est.dof, alpha, target_functional(Y));
  if (pred.quantity == "adaptation")
    c.target_adaptation = width * target_functional(Y).dot(core::upper_triangle(pred.value));
  else
    c.cka = sampling::centered_kernel_alignment(pred.value, Y);
  return c;
}

double excess_frobenius(const Estimate& estimate, const TheoryComparison& comparison) {
  const Eigen::VectorXd e = estimate.entries - core::upper_triangle(comparison.prediction);
  return frobenius(e, difference_covariance(estimate, comparison.prediction_se),
                   triangle_weights(comparison.prediction.rows()))
      .excess;
}

const TheoryComparison* find_comparison(const std::vector<TheoryComparison>& comparisons, const std::string& theory,
                                        const std::string& quantity) {
  for (const TheoryComparison& c : comparisons)
    if (c.theory == theory && c.quantity == quantity) return &c;
  return nullptr;
}

Eigen::VectorXd target_functional(const Eigen::MatrixXd& Y) {
  const Eigen::MatrixXd T = Y * Y.transpose() / Y.squaredNorm();
  return triangle_weights(Y.rows()).cwiseProduct(core::upper_triangle(T));
}

double cka_of(const Eigen::VectorXd& entries, const Eigen::MatrixXd& Y) {
  return sampling::centered_kernel_alignment(core::from_upper_triangle(entries, Y.rows()), Y);
}

// Central differences, step 1e-6 of the kernel scale: the truncation error ~1e-12
// relative is far below the SE.
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

}  // namespace kernelmc::validation
