#pragma once
// Potentials with known moments for the sampler tests (sampling/potential.hpp):
//  - GaussianPotential: U = ½ (q − μ)ᵀ Σ⁻¹ (q − μ), mean μ, covariance Σ.
//  - GumbelPotential: q = μ + A z with z_i i.i.d. standard Gumbel (density e^{−z − e^{−z}}),
//    so U(q) = Σ_i (z_i + e^{−z_i}), z = A⁻¹(q − μ). Skewed and non-Gaussian but log-concave;
//    mean μ + γ_E A𝟏 (γ_E the Euler–Mascheroni constant), covariance (π²/6) A Aᵀ.
//  - WalledPotential: a Gaussian whose value is NaN beyond q_0 > wall, to provoke divergences.
//  - FlatPotential: U = 0, an improper target.
#include <Eigen/Core>
#include <Eigen/LU>
#include <cmath>
#include <limits>
#include <memory>

#include "sampling/potential.hpp"

namespace kernelmc::sampling::testing {

class GaussianPotential : public Potential {
 public:
  GaussianPotential(const Eigen::VectorXd& mean, const Eigen::MatrixXd& covariance)
      : mean_(mean), covariance_(covariance), precision_(covariance.inverse()) {}
  Eigen::Index dimension() const override { return mean_.size(); }
  double value(const Eigen::Ref<const Eigen::VectorXd>& q) override {
    const Eigen::VectorXd r = q - mean_;
    return 0.5 * r.dot(precision_ * r);
  }
  double value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>& q,
                            Eigen::Ref<Eigen::VectorXd> gradient) override {
    const Eigen::VectorXd r = q - mean_;
    gradient.noalias() = precision_ * r;
    return 0.5 * r.dot(gradient);
  }
  std::unique_ptr<Potential> clone() const override { return std::make_unique<GaussianPotential>(*this); }

  const Eigen::VectorXd& mean() const { return mean_; }
  const Eigen::MatrixXd& covariance() const { return covariance_; }

 private:
  Eigen::VectorXd mean_;
  Eigen::MatrixXd covariance_;
  Eigen::MatrixXd precision_;
};

class GumbelPotential : public Potential {
 public:
  GumbelPotential(const Eigen::VectorXd& shift, const Eigen::MatrixXd& mixing)
      : shift_(shift), mixing_(mixing), unmixing_(mixing.inverse()) {}
  Eigen::Index dimension() const override { return shift_.size(); }
  double value(const Eigen::Ref<const Eigen::VectorXd>& q) override {
    const Eigen::VectorXd z = unmixing_ * (q - shift_);
    return (z.array() + (-z.array()).exp()).sum();
  }
  double value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>& q,
                            Eigen::Ref<Eigen::VectorXd> gradient) override {
    const Eigen::VectorXd z = unmixing_ * (q - shift_);
    const Eigen::ArrayXd e = (-z.array()).exp();
    gradient.noalias() = unmixing_.transpose() * (1.0 - e).matrix();
    return (z.array() + e).sum();
  }
  std::unique_ptr<Potential> clone() const override { return std::make_unique<GumbelPotential>(*this); }

  Eigen::VectorXd mean() const {
    constexpr double kEulerGamma = 0.57721566490153286;  // mean of the standard Gumbel law
    return shift_ + kEulerGamma * mixing_ * Eigen::VectorXd::Ones(shift_.size());
  }
  Eigen::MatrixXd covariance() const {
    constexpr double kGumbelVariance = 1.6449340668482264;  // π²/6
    return kGumbelVariance * mixing_ * mixing_.transpose();
  }

 private:
  Eigen::VectorXd shift_;
  Eigen::MatrixXd mixing_;
  Eigen::MatrixXd unmixing_;
};

class WalledPotential : public GaussianPotential {
 public:
  WalledPotential(const Eigen::VectorXd& mean, const Eigen::MatrixXd& covariance, double wall)
      : GaussianPotential(mean, covariance), wall_(wall) {}
  double value(const Eigen::Ref<const Eigen::VectorXd>& q) override {
    return q(0) > wall_ ? std::numeric_limits<double>::quiet_NaN() : GaussianPotential::value(q);
  }
  double value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>& q,
                            Eigen::Ref<Eigen::VectorXd> gradient) override {
    const double u = GaussianPotential::value_and_gradient(q, gradient);
    return q(0) > wall_ ? std::numeric_limits<double>::quiet_NaN() : u;
  }
  std::unique_ptr<Potential> clone() const override { return std::make_unique<WalledPotential>(*this); }

 private:
  double wall_;
};

class FlatPotential : public Potential {
 public:
  explicit FlatPotential(Eigen::Index dimension) : dimension_(dimension) {}
  Eigen::Index dimension() const override { return dimension_; }
  double value(const Eigen::Ref<const Eigen::VectorXd>&) override { return 0.0; }
  double value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>&, Eigen::Ref<Eigen::VectorXd> gradient) override {
    gradient.setZero();
    return 0.0;
  }
  std::unique_ptr<Potential> clone() const override { return std::make_unique<FlatPotential>(*this); }

 private:
  Eigen::Index dimension_;
};

// 5-D correlated Gaussian: standard deviations 0.5 … 2, correlations ρ_ij = 0.6^|i−j|
// (condition number ≈ 60), mean (1, −1, 0.5, 0, 2).
inline GaussianPotential correlated_gaussian() {
  const Eigen::VectorXd sd = (Eigen::VectorXd(5) << 0.5, 1.0, 2.0, 0.8, 1.5).finished();
  Eigen::MatrixXd cov(5, 5);
  for (Eigen::Index i = 0; i < 5; ++i)
    for (Eigen::Index j = 0; j < 5; ++j)
      cov(i, j) = sd(i) * sd(j) * std::pow(0.6, static_cast<double>(std::abs(i - j)));
  return GaussianPotential((Eigen::VectorXd(5) << 1.0, -1.0, 0.5, 0.0, 2.0).finished(), cov);
}

// 5-D diagonal Gaussian with standard deviations 0.01 … 100 (variances over 8 decades):
// with the unit metric no step size serves both ends, so this needs the adapted metric.
inline GaussianPotential anisotropic_gaussian() {
  const Eigen::VectorXd sd = (Eigen::VectorXd(5) << 0.01, 0.1, 1.0, 10.0, 100.0).finished();
  return GaussianPotential(Eigen::VectorXd::Zero(5), sd.cwiseAbs2().asDiagonal());
}

// 3-D correlated Gumbel: A lower-triangular with unit-order entries.
inline GumbelPotential correlated_gumbel() {
  Eigen::MatrixXd A(3, 3);
  A << 1.0, 0.0, 0.0,  //
      0.5, 0.8, 0.0,   //
      -0.3, 0.4, 1.2;
  return GumbelPotential((Eigen::VectorXd(3) << 0.0, 1.0, -1.0).finished(), A);
}

}  // namespace kernelmc::sampling::testing
