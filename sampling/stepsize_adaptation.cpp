#include "sampling/stepsize_adaptation.hpp"

#include <algorithm>
#include <cmath>

namespace kernelmc::sampling {

StepSizeAdaptation::StepSizeAdaptation(double target_accept, double gamma, double kappa, double t0)
    : target_accept_(target_accept), gamma_(gamma), kappa_(kappa), t0_(t0) {}

void StepSizeAdaptation::restart() {
  counter_ = 0;
  s_bar_ = 0.0;
  x_bar_ = 0.0;
}

double StepSizeAdaptation::learn(double accept_stat) {
  ++counter_;
  const double t = static_cast<double>(counter_);
  const double a = std::min(accept_stat, 1.0);
  const double eta = 1.0 / (t + t0_);
  s_bar_ = (1.0 - eta) * s_bar_ + eta * (target_accept_ - a);
  const double x = mu_ - s_bar_ * std::sqrt(t) / gamma_;
  const double x_eta = std::pow(t, -kappa_);
  x_bar_ = (1.0 - x_eta) * x_bar_ + x_eta * x;
  return std::exp(x);
}

void StepSizeAdaptation::save_state(core::BinaryWriter& out) const {
  out.real(mu_);
  out.integer(counter_);
  out.real(s_bar_);
  out.real(x_bar_);
}

void StepSizeAdaptation::restore_state(core::BinaryReader& in) {
  mu_ = in.real();
  counter_ = in.integer();
  s_bar_ = in.real();
  x_bar_ = in.real();
}

double StepSizeAdaptation::adapted_step_size() const { return std::exp(x_bar_); }

}  // namespace kernelmc::sampling
