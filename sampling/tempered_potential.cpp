#include "sampling/tempered_potential.hpp"

#include <cassert>
#include <cmath>
#include <limits>
#include <numbers>

namespace kernelmc::sampling {

double collapsed_log_likelihood_offset(Eigen::Index points, Eigen::Index outputs) {
  return -0.5 * static_cast<double>(points * outputs) * std::log(2.0 * std::numbers::pi);
}

TemperedPotential::TemperedPotential(const Potential& base, double beta)
    : base_(base.clone()), beta_(beta) {
  assert(beta >= 0.0 && beta <= 1.0);
}

void TemperedPotential::set_beta(double beta) {
  assert(beta >= 0.0 && beta <= 1.0);
  beta_ = beta;
}

double TemperedPotential::value(const Eigen::Ref<const Eigen::VectorXd>& q) {
  const double prior = 0.5 * q.squaredNorm();
  if (beta_ == 0.0) return prior;
  return (1.0 - beta_) * prior + beta_ * base_->value(q);
}

double TemperedPotential::value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>& q,
                                             Eigen::Ref<Eigen::VectorXd> gradient) {
  const double prior = 0.5 * q.squaredNorm();
  if (beta_ == 0.0) {
    gradient = q;
    return prior;
  }
  const double U = base_->value_and_gradient(q, gradient);
  gradient *= beta_;
  gradient += (1.0 - beta_) * q;
  return (1.0 - beta_) * prior + beta_ * U;
}

std::unique_ptr<Potential> TemperedPotential::clone() const {
  return std::make_unique<TemperedPotential>(*base_, beta_);
}

double TemperedPotential::log_likelihood(const Eigen::Ref<const Eigen::VectorXd>& q, double offset) {
  const double U = base_->value(q);
  if (!std::isfinite(U)) return -std::numeric_limits<double>::infinity();
  return 0.5 * q.squaredNorm() - U + offset;
}

}  // namespace kernelmc::sampling
