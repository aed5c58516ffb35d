#include "sampling/full_posterior.hpp"

namespace kernelmc::sampling {

FullPosterior::FullPosterior(const core::ModelSpec& spec, const core::Dataset& data)
    : network_(spec, data.inputs), targets_(data.targets), kappa_(spec.kappa),
      residual_(data.targets.rows(), data.targets.cols()) {
  // The potentials see the targets, the Network only X: their shape is checked here.
  core::check_target_columns(spec, data.targets);
}

double FullPosterior::value(const Eigen::Ref<const Eigen::VectorXd>& theta) {
  network_.forward(theta);
  residual_ = network_.output() - targets_;
  // THEORY.md §1.4: U = ‖F − Y‖²/(2κ) + ½‖θ‖².
  return residual_.squaredNorm() / (2.0 * kappa_) + 0.5 * theta.squaredNorm();
}

double FullPosterior::value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>& theta,
                                         Eigen::Ref<Eigen::VectorXd> gradient) {
  const double U = value(theta);
  residual_ /= kappa_;  // ∂U/∂F
  network_.backward_from_output(theta, residual_, gradient);
  gradient += theta;
  return U;
}

std::unique_ptr<Potential> FullPosterior::clone() const {
  return std::make_unique<FullPosterior>(*this);
}

}  // namespace kernelmc::sampling
