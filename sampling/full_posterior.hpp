#pragma once
// The exact weight-space posterior of THEORY.md §1.4 over all raw parameters θ
// (hidden weights, biases when σ_b² > 0, readout w and b_out; layout in
// sampling/parameter_layout.hpp):
//
//   U(θ) = ‖F(θ) − Y‖²_F / (2κ) + ½ ‖θ‖²,     ∇U = J_Fᵀ (F − Y)/κ + θ,
//
// for D ≥ 1 outputs (independent readout columns). e^{−U} is the posterior density up
// to a constant. The gradient is one forward and one reverse pass of sampling::Network.
#include <Eigen/Core>
#include <memory>

#include "core/dataset.hpp"
#include "core/model_spec.hpp"
#include "sampling/network.hpp"
#include "sampling/potential.hpp"

namespace kernelmc::sampling {

class FullPosterior final : public Potential {
 public:
  // `spec` and `data` are validated (core::validate); their shapes must agree
  // (d = model.input_dim, D = model.output_dim), else DataError naming both.
  FullPosterior(const core::ModelSpec& spec, const core::Dataset& data);

  Eigen::Index dimension() const override { return network_.layout().size(); }
  double value(const Eigen::Ref<const Eigen::VectorXd>& theta) override;
  double value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>& theta,
                            Eigen::Ref<Eigen::VectorXd> gradient) override;
  std::unique_ptr<Potential> clone() const override;
  void set_threads(int threads) override { network_.set_threads(threads); }

  // The network after the last evaluation (its F, Φ_l and kernels belong to that θ).
  const Network& network() const { return network_; }
  Network& network() { return network_; }

 private:
  Network network_;
  Eigen::MatrixXd targets_;   // Y, P×D
  double kappa_;              // κ
  Eigen::MatrixXd residual_;  // F − Y, then ∂U/∂F = (F − Y)/κ
};

}  // namespace kernelmc::sampling
