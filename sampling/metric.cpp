#include "sampling/metric.hpp"

#include <cassert>

namespace kernelmc::sampling {

Metric::Metric(Eigen::Index dimension) : inverse_mass_(Eigen::VectorXd::Ones(dimension)) {}

Metric::Metric(const Eigen::Ref<const Eigen::VectorXd>& inverse_mass) : inverse_mass_(inverse_mass) {
  assert(inverse_mass_.allFinite() && (inverse_mass_.array() > 0).all());
}

void Metric::set_inverse_mass(const Eigen::Ref<const Eigen::VectorXd>& inverse_mass) {
  assert(inverse_mass.size() == inverse_mass_.size());
  assert(inverse_mass.allFinite() && (inverse_mass.array() > 0).all());
  inverse_mass_ = inverse_mass;
}

double Metric::kinetic_energy(const Eigen::Ref<const Eigen::VectorXd>& p) const {
  return 0.5 * (p.array().square() * inverse_mass_.array()).sum();
}

void Metric::velocity(const Eigen::Ref<const Eigen::VectorXd>& p, Eigen::Ref<Eigen::VectorXd> velocity) const {
  assert(p.size() == inverse_mass_.size() && velocity.size() == p.size());
  velocity = inverse_mass_.cwiseProduct(p);
}

void Metric::sample_momentum(core::Engine& engine, Eigen::Ref<Eigen::VectorXd> p) const {
  assert(p.size() == inverse_mass_.size());
  core::fill_standard_normal(engine, p);
  p.array() /= inverse_mass_.array().sqrt();
}

}  // namespace kernelmc::sampling
