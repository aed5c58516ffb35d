#include "sampling/network.hpp"

#include <cassert>
#include <cmath>
#include <string>

#include "core/activation.hpp"
#include "core/dataset.hpp"
#include "core/error.hpp"
#include "sampling/detail/blocks.hpp"
#include "sampling/detail/gemm.hpp"
#include "sampling/empirical_kernels.hpp"

namespace kernelmc::sampling {

namespace {

using ConstMatrixMap = Eigen::Map<const Eigen::MatrixXd>;
using MatrixMap = Eigen::Map<Eigen::MatrixXd>;
using ConstVectorMap = Eigen::Map<const Eigen::VectorXd>;
using VectorMap = Eigen::Map<Eigen::VectorXd>;

using detail::Op;

// h ← h + 𝟏 (σ_b b)ᵀ, column by column: `h.rowwise() += (σ_b b).transpose()` would
// evaluate σ_b b into a heap temporary on every call.
void add_bias(double bias_scale, const ConstVectorMap& b, Eigen::Ref<Eigen::MatrixXd> h) {
  for (Eigen::Index i = 0; i < h.cols(); ++i) h.col(i).array() += bias_scale * b(i);
}

}  // namespace

Network::Network(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs)
    : spec_(spec), layout_(spec), inputs_(inputs), bias_scale_(std::sqrt(spec.bias_variance)) {
  core::check_input_columns(spec, inputs);
  const Eigen::Index P = inputs.rows();
  const Eigen::Index L = spec.depth();
  input_kernel_ = core::input_kernel(inputs_, spec.g(1), spec.bias_variance);
  for (Eigen::Index l = 1; l <= L + 1; ++l)
    scales_.push_back(std::sqrt(spec.g(l) / static_cast<double>(spec.width(l - 1))));
  for (Eigen::Index l = 1; l <= L; ++l) {
    h_.emplace_back(P, spec.width(l));
    phi_.emplace_back(P, spec.width(l));
    delta_.emplace_back(P, spec.width(l));
  }
  output_.resize(P, spec.output_dim);
}

void Network::forward_hidden(const Eigen::Ref<const Eigen::VectorXd>& theta) {
  assert(theta.size() >= layout_.hidden_size());
  for (Eigen::Index l = 1; l <= layout_.depth(); ++l) {
    const ConstMatrixMap W(theta.data() + layout_.weight_offset(l), layout_.weight_rows(l),
                           layout_.weight_cols(l));
    const ConstVectorMap b(theta.data() + (layout_.has_biases() ? layout_.bias_offset(l) : 0),
                           layout_.has_biases() ? layout_.weight_rows(l) : 0);
    const Eigen::MatrixXd& below = l == 1 ? inputs_ : phi_[index(l - 1)];
    Eigen::MatrixXd& h = h_[index(l)];
    Eigen::MatrixXd& phi = phi_[index(l)];
    const double s = scales_[index(l)];
    // Rows are inputs: each row block is one product, its biases and its φ.
    detail::for_each_block(points(), threads_, [&](Eigen::Index r, Eigen::Index rows) {
      auto h_block = h.middleRows(r, rows);
      detail::gemm(s, below.middleRows(r, rows), Op::none, W, Op::transpose, h_block);
      if (layout_.has_biases()) add_bias(bias_scale_, b, h_block);
      core::apply_activation(spec_.activation, h_block, phi.middleRows(r, rows));
    });
  }
}

void Network::forward(const Eigen::Ref<const Eigen::VectorXd>& theta) {
  assert(theta.size() == layout_.size());
  forward_hidden(theta);
  const ConstMatrixMap w(theta.data() + layout_.readout_offset(), layout_.readout_rows(),
                         layout_.outputs());
  output_.noalias() = scales_.back() * features() * w;
  if (layout_.has_biases()) {
    add_bias(bias_scale_, ConstVectorMap(theta.data() + layout_.output_bias_offset(), layout_.outputs()),
             output_);
  }
}

void Network::backward_from_output(const Eigen::Ref<const Eigen::VectorXd>& theta,
                                   const Eigen::Ref<const Eigen::MatrixXd>& output_gradient,
                                   Eigen::Ref<Eigen::VectorXd> gradient) {
  assert(theta.size() == layout_.size() && gradient.size() == layout_.size());
  assert(output_gradient.rows() == points() && output_gradient.cols() == layout_.outputs());
  // f = s Φ w + σ_b 𝟏 b_outᵀ: ∂/∂w = s Φᵀ ∂F, ∂/∂b_out = σ_b 𝟏ᵀ ∂F, ∂/∂Φ = s ∂F wᵀ.
  const double s = scales_.back();
  MatrixMap dw(gradient.data() + layout_.readout_offset(), layout_.readout_rows(), layout_.outputs());
  dw.noalias() = s * features().transpose() * output_gradient;
  if (layout_.has_biases()) {
    VectorMap db_out(gradient.data() + layout_.output_bias_offset(), layout_.outputs());
    db_out.noalias() = bias_scale_ * output_gradient.colwise().sum().transpose();
  }
  const ConstMatrixMap w(theta.data() + layout_.readout_offset(), layout_.readout_rows(),
                         layout_.outputs());
  delta_.back().noalias() = s * output_gradient * w.transpose();
  backpropagate_hidden(theta, gradient);
}

void Network::backward_from_features(const Eigen::Ref<const Eigen::VectorXd>& theta,
                                     const Eigen::Ref<const Eigen::MatrixXd>& feature_gradient,
                                     Eigen::Ref<Eigen::VectorXd> hidden_gradient) {
  assert(theta.size() >= layout_.hidden_size() && hidden_gradient.size() == layout_.hidden_size());
  delta_.back() = feature_gradient;
  backpropagate_hidden(theta, hidden_gradient);
}

void Network::backpropagate_hidden(const Eigen::Ref<const Eigen::VectorXd>& theta,
                                   Eigen::Ref<Eigen::VectorXd> gradient) {
  const Eigen::Index P = points();
  for (Eigen::Index l = layout_.depth(); l >= 1; --l) {
    Eigen::MatrixXd& delta = delta_[index(l)];
    detail::for_each_block(P, threads_, [&](Eigen::Index r, Eigen::Index rows) {
      core::multiply_by_activation_derivative(spec_.activation, h_[index(l)].middleRows(r, rows),
                                              phi_[index(l)].middleRows(r, rows), delta.middleRows(r, rows));
    });
    // h^(l) = s_l Φ_{l−1} W_{l−1}ᵀ + σ_b 𝟏 b_lᵀ (Φ_0 = X): ∂/∂W_{l−1} = s_l δᵀ Φ_{l−1},
    // ∂/∂b_l = σ_b δᵀ 𝟏, ∂/∂Φ_{l−1} = s_l δ W_{l−1}.
    const double s = scales_[index(l)];
    const Eigen::MatrixXd& below = l == 1 ? inputs_ : phi_[index(l - 1)];
    MatrixMap dW(gradient.data() + layout_.weight_offset(l), layout_.weight_rows(l),
                 layout_.weight_cols(l));
    VectorMap db(gradient.data() + (layout_.has_biases() ? layout_.bias_offset(l) : 0),
                 layout_.has_biases() ? layout_.weight_rows(l) : 0);
    // Blocks of neurons (rows of ∂W): each entry is one sum over all P inputs.
    detail::for_each_block(dW.rows(), threads_, [&](Eigen::Index j, Eigen::Index neurons) {
      detail::gemm(s, delta.middleCols(j, neurons), Op::transpose, below, Op::none, dW.middleRows(j, neurons));
      if (layout_.has_biases())
        db.segment(j, neurons).noalias() = bias_scale_ * delta.middleCols(j, neurons).colwise().sum().transpose();
    });
    if (l > 1) {
      const ConstMatrixMap W(theta.data() + layout_.weight_offset(l), layout_.weight_rows(l),
                             layout_.weight_cols(l));
      Eigen::MatrixXd& delta_below = delta_[index(l - 1)];
      detail::for_each_block(P, threads_, [&](Eigen::Index r, Eigen::Index rows) {
        detail::gemm(s, delta.middleRows(r, rows), Op::none, W, Op::none, delta_below.middleRows(r, rows));
      });
    }
  }
}

void Network::kernel_above(Eigen::Index l, Eigen::Ref<Eigen::MatrixXd> kernel) const {
  assert(l >= 1 && l <= layout_.depth());
  assert(kernel.rows() == points() && kernel.cols() == points());
  empirical_kernel(phi_[index(l)], spec_.g(l + 1), spec_.bias_variance, kernel);
}

void Network::empirical_kernels(const Eigen::Ref<const Eigen::VectorXd>& theta,
                                core::KernelStack& kernels) {
  forward_hidden(theta);
  const Eigen::Index L = layout_.depth();
  kernels.kernels.resize(static_cast<std::size_t>(L + 1));
  kernels.layer(1) = input_kernel_;
  for (Eigen::Index l = 1; l <= L; ++l) {
    kernels.layer(l + 1).resize(points(), points());
    kernel_above(l, kernels.layer(l + 1));
  }
}

core::KernelStack Network::empirical_kernels(const Eigen::Ref<const Eigen::VectorXd>& theta) {
  core::KernelStack kernels;
  empirical_kernels(theta, kernels);
  return kernels;
}

}  // namespace kernelmc::sampling
