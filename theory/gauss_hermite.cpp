#include "theory/gauss_hermite.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.hpp"

namespace kernelmc::theory {

GaussHermiteRule gauss_hermite_rule(Eigen::Index n) {
  // Golub–Welsch for the probabilists' Hermite polynomials He_k: the nodes are the
  // eigenvalues of the Jacobi matrix (zero diagonal, off-diagonal √k), computed without
  // eigenvectors (O(n²)). The rule is made exactly symmetric (z_i = −z_{n−1−i}), so odd
  // moments vanish to rounding.
  GaussHermiteRule rule;
  if (n == 1) {
    rule.nodes = Eigen::VectorXd::Zero(1);
    rule.weights = Eigen::VectorXd::Ones(1);
    return rule;
  }
  const Eigen::VectorXd diagonal = Eigen::VectorXd::Zero(n);
  Eigen::VectorXd off_diagonal(n - 1);
  for (Eigen::Index k = 1; k < n; ++k) off_diagonal(k - 1) = std::sqrt(static_cast<double>(k));
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig;
  eig.computeFromTridiagonal(diagonal, off_diagonal, Eigen::EigenvaluesOnly);
  const Eigen::VectorXd& x = eig.eigenvalues();  // ascending
  rule.nodes.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) rule.nodes(i) = 0.5 * (x(i) - x(n - 1 - i));
  // Christoffel numbers w_i = 1 / Σ_{k<n} p_k(z_i)² with the orthonormal polynomials
  // p_k = He_k/√k!, p_{k+1} = (z p_k − √k p_{k−1})/√(k+1). Far nodes overflow the sum to
  // +∞ and get weight 0, which is their weight in double precision anyway.
  rule.weights.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double z = rule.nodes(i);
    double previous = 0.0, current = 1.0, sum = 1.0;
    for (Eigen::Index k = 0; k + 1 < n && sum < 1e300; ++k) {
      const double next = (z * current - std::sqrt(static_cast<double>(k)) * previous) /
                          std::sqrt(static_cast<double>(k + 1));
      previous = current;
      current = next;
      sum += current * current;
    }
    rule.weights(i) = std::isfinite(sum) && sum < 1e300 ? 1.0 / sum : 0.0;
  }
  rule.weights /= rule.weights.sum();
  return rule;
}

const std::vector<Eigen::Index>& gauss_hermite_node_schedule() {
  static const std::vector<Eigen::Index> schedule = {8,   12,  16,  24,  32,  40,  48,  64,  80,  96,
                                                     128, 160, 192, 256, 320, 384, 512, 640, 768, 1024};
  return schedule;
}

namespace {
double apply_rule(const std::function<double(double)>& f, const GaussHermiteRule& rule) {
  double sum = 0.0;
  for (Eigen::Index i = 0; i < rule.nodes.size(); ++i) sum += rule.weights(i) * f(rule.nodes(i));
  return sum;
}
}  // namespace

Eigen::Index gauss_hermite_nodes_for(const std::vector<std::function<double(double)>>& integrands,
                                     double tolerance) {
  const std::vector<Eigen::Index>& schedule = gauss_hermite_node_schedule();
  std::vector<double> previous;
  double worst = INFINITY;
  for (Eigen::Index n : schedule) {
    const GaussHermiteRule rule = gauss_hermite_rule(n);
    std::vector<double> current;
    for (const auto& f : integrands) current.push_back(apply_rule(f, rule));
    if (!previous.empty()) {
      worst = 0.0;
      for (std::size_t i = 0; i < current.size(); ++i) {
        const double difference = std::abs(current[i] - previous[i]);
        worst = std::isfinite(difference) ? std::max(worst, difference) : INFINITY;
      }
      if (worst <= tolerance) return n;
    }
    previous = std::move(current);
  }
  std::ostringstream msg;
  msg << "gauss_hermite_nodes_for: rules with " << schedule[schedule.size() - 2] << " and "
      << schedule.back() << " nodes still differ by " << worst << " > tolerance " << tolerance
      << " (variance too large for Gauss-Hermite, or tolerance below rounding)";
  throw NumericalError(msg.str());
}

double gaussian_pair_expectation(const std::function<double(double, double)>& F, double Caa,
                                 double Cbb, double Cab, const GaussHermiteRule& rule) {
  const double ra = std::sqrt(std::max(Caa, 0.0));
  const double rba = ra > 0.0 ? Cab / ra : 0.0;
  const double rbb = std::sqrt(std::max(Cbb - rba * rba, 0.0));
  const Eigen::Index n = rule.nodes.size();
  double sum = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double ha = ra * rule.nodes(i);
    double inner = 0.0;
    for (Eigen::Index j = 0; j < n; ++j) inner += rule.weights(j) * F(ha, rba * rule.nodes(i) + rbb * rule.nodes(j));
    sum += rule.weights(i) * inner;
  }
  return sum;
}

double gaussian_expectation(const std::function<double(const Eigen::VectorXd&)>& F,
                            const Eigen::Ref<const Eigen::MatrixXd>& S,
                            const GaussHermiteRule& rule) {
  const Eigen::Index m = S.rows();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(S);
  const Eigen::MatrixXd R =
      eig.eigenvectors() * eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal();
  const Eigen::Index n = rule.nodes.size();
  std::vector<Eigen::Index> index(static_cast<std::size_t>(m), 0);
  Eigen::VectorXd z(m);
  double sum = 0.0;
  while (true) {
    double w = 1.0;
    for (Eigen::Index k = 0; k < m; ++k) {
      z(k) = rule.nodes(index[static_cast<std::size_t>(k)]);
      w *= rule.weights(index[static_cast<std::size_t>(k)]);
    }
    sum += w * F(R * z);
    // Odometer over the n^m multi-indices.
    Eigen::Index k = 0;
    while (k < m && ++index[static_cast<std::size_t>(k)] == n) index[static_cast<std::size_t>(k++)] = 0;
    if (k == m) break;
  }
  return sum;
}

}  // namespace kernelmc::theory
