#include "validation/comparison.hpp"

#include <Eigen/Eigenvalues>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cassert>
#include <cmath>
#include <limits>

namespace kernelmc::validation {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

Eigen::MatrixXd z_scores(const Eigen::Ref<const Eigen::MatrixXd>& estimate,
                         const Eigen::Ref<const Eigen::MatrixXd>& prediction,
                         const Eigen::Ref<const Eigen::MatrixXd>& standard_error,
                         const Eigen::Ref<const Eigen::MatrixXd>& theory_standard_error) {
  Eigen::MatrixXd z(estimate.rows(), estimate.cols());
  for (Eigen::Index j = 0; j < z.cols(); ++j) {
    for (Eigen::Index i = 0; i < z.rows(); ++i) {
      const double se = std::hypot(standard_error(i, j), theory_standard_error(i, j));
      z(i, j) = (se > 0.0 && std::isfinite(se)) ? (estimate(i, j) - prediction(i, j)) / se : kNaN;
    }
  }
  return z;
}

Eigen::MatrixXd jackknife_standard_error(const std::vector<Eigen::MatrixXd>& leave_one_out) {
  const auto B = static_cast<double>(leave_one_out.size());
  assert(B >= 2);
  Eigen::MatrixXd mean = Eigen::MatrixXd::Zero(leave_one_out.front().rows(), leave_one_out.front().cols());
  for (const auto& r : leave_one_out) mean += r;
  mean /= B;
  Eigen::MatrixXd sum_sq = Eigen::MatrixXd::Zero(mean.rows(), mean.cols());
  for (const auto& r : leave_one_out) sum_sq.array() += (r - mean).array().square();
  return (sum_sq * ((B - 1.0) / B)).cwiseSqrt();
}

double jackknife_standard_error(const std::vector<double>& leave_one_out) {
  std::vector<Eigen::MatrixXd> as_matrices;
  as_matrices.reserve(leave_one_out.size());
  for (double v : leave_one_out) as_matrices.push_back(Eigen::MatrixXd::Constant(1, 1, v));
  return jackknife_standard_error(as_matrices)(0, 0);
}

double bonferroni_z(double family_alpha, Eigen::Index comparisons) {
  const boost::math::normal standard;
  const double tail = family_alpha / (2.0 * static_cast<double>(std::max<Eigen::Index>(comparisons, 1)));
  return boost::math::quantile(boost::math::complement(standard, tail));
}

double bonferroni_t(double family_alpha, Eigen::Index comparisons, Eigen::Index dof) {
  if (dof <= 0) return bonferroni_z(family_alpha, comparisons);
  const boost::math::students_t t(static_cast<double>(dof));
  const double tail = family_alpha / (2.0 * static_cast<double>(std::max<Eigen::Index>(comparisons, 1)));
  return boost::math::quantile(boost::math::complement(t, tail));
}

ChiSquareTest chi_square_test(const Eigen::Ref<const Eigen::VectorXd>& difference,
                              const Eigen::Ref<const Eigen::MatrixXd>& covariance) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(covariance);
  const Eigen::VectorXd& lambda = eig.eigenvalues();
  const double cutoff = 1e-10 * std::max(lambda.maxCoeff(), 0.0);
  const Eigen::VectorXd projected = eig.eigenvectors().transpose() * difference;
  ChiSquareTest test;
  test.statistic = 0.0;
  for (Eigen::Index k = 0; k < lambda.size(); ++k) {
    if (lambda(k) > cutoff) {
      test.statistic += projected(k) * projected(k) / lambda(k);
      test.dof += 1.0;
    }
  }
  if (test.dof < 1.0 || !std::isfinite(test.statistic)) {
    test.p_value = kNaN;
    return test;
  }
  const boost::math::chi_squared chi2(test.dof);
  test.p_value = boost::math::cdf(boost::math::complement(chi2, test.statistic));
  return test;
}

TheoryComparison compare(const Eigen::Ref<const Eigen::MatrixXd>& estimate,
                    const Eigen::Ref<const Eigen::MatrixXd>& prediction,
                    const Eigen::Ref<const Eigen::MatrixXd>& standard_error,
                    const Eigen::Ref<const Eigen::MatrixXd>& theory_standard_error,
                    const std::vector<Eigen::MatrixXd>& leave_one_out,
                    const Eigen::Ref<const Eigen::MatrixXd>& entry_mask) {
  TheoryComparison d;
  d.prediction = prediction;
  d.prediction_se = theory_standard_error;
  d.frobenius = (estimate - prediction).norm();
  const double prediction_frobenius = prediction.norm();
  std::vector<double> replicates;
  replicates.reserve(leave_one_out.size());
  for (const auto& r : leave_one_out) replicates.push_back((r - prediction).norm());
  d.frobenius_se = jackknife_standard_error(replicates);
  const double noise_sq = standard_error.squaredNorm() + theory_standard_error.squaredNorm();
  d.noise_frobenius = std::sqrt(noise_sq);
  d.excess_frobenius = std::sqrt(std::max(d.frobenius * d.frobenius - noise_sq, 0.0));
  const Eigen::MatrixXd z = z_scores(estimate, prediction, standard_error, theory_standard_error);
  d.entries = static_cast<Eigen::Index>(entry_mask.sum());
  d.max_abs_z = 0.0;
  for (Eigen::Index j = 0; j < z.cols(); ++j) {
    for (Eigen::Index i = 0; i < z.rows(); ++i) {
      if (entry_mask(i, j) != 0.0 && std::isfinite(z(i, j))) d.max_abs_z = std::max(d.max_abs_z, std::abs(z(i, j)));
    }
  }
  d.z = z;
  d.bonferroni_z = bonferroni_z(0.01, d.entries);
  d.relative = d.frobenius / prediction_frobenius;
  d.relative_se = d.frobenius_se / prediction_frobenius;
  return d;
}

}  // namespace kernelmc::validation
