#include "theory/prior_covariance.hpp"

#include <cassert>
#include <utility>

#include "core/kernel_stack.hpp"
#include "theory/nngp.hpp"

namespace kernelmc::theory {

double one_layer_covariance_scale(const core::ModelSpec& spec, Eigen::Index l) {
  // THEORY.md §3.1: V^(l) = (g_l²/N_{l−1}) [⟨φφφφ⟩ − ⟨φφ⟩⟨φφ⟩].
  const double g = spec.g(l);
  return g * g / static_cast<double>(spec.width(l - 1));
}

std::vector<Eigen::MatrixXd> prior_covariance_recursion(
    const std::vector<Eigen::MatrixXd>& one_layer, const std::vector<JacobianOperator>& jacobians) {
  assert(one_layer.size() == jacobians.size() && one_layer.size() >= 2);
  const Eigen::Index K = one_layer[1].rows();
  std::vector<Eigen::MatrixXd> sigma{Eigen::MatrixXd::Zero(K, K)};  // Σ^(1) = 0
  for (std::size_t i = 1; i < one_layer.size(); ++i) {
    // THEORY.md §3.4: Σ^(l) = V^(l) + J^(l) Σ^(l−1) J^(l)ᵀ, symmetrised against rounding.
    const Eigen::MatrixXd S = one_layer[i] + propagate_triangle_covariance(jacobians[i], sigma.back());
    sigma.push_back(0.5 * (S + S.transpose()));
  }
  return sigma;
}

Eigen::MatrixXd OneLayerCovarianceOperator::apply(const Eigen::Ref<const Eigen::MatrixXd>& M) const {
  if (product_covariance.size() > 0) return scale * apply_triangle_covariance(product_covariance, M);
  const std::vector<Eigen::MatrixXd> batches = apply_product_covariance(draws, M);
  Eigen::MatrixXd mean = Eigen::MatrixXd::Zero(M.rows(), M.cols());
  for (const Eigen::MatrixXd& b : batches) mean += b;
  return (scale / static_cast<double>(batches.size())) * mean;
}

PriorCovarianceOperator::PriorCovarianceOperator(std::vector<JacobianOperator> jacobians,
                                                 std::vector<OneLayerCovarianceOperator> one_layer)
    : jacobians_(1, std::move(jacobians)), one_layer_(1, std::move(one_layer)) {
  assert(jacobians_.size() == one_layer_.size());
}

const JacobianOperator& PriorCovarianceOperator::jacobian(Eigen::Index l) const {
  assert(l >= 2 && l <= top_layer());
  return jacobians_.layer(l);
}

Eigen::MatrixXd PriorCovarianceOperator::apply_one_layer(Eigen::Index l,
                                                         const Eigen::Ref<const Eigen::MatrixXd>& M) const {
  assert(l >= 2 && l <= top_layer());
  return one_layer_.layer(l).apply(M);
}

Eigen::MatrixXd PriorCovarianceOperator::apply(Eigen::Index l,
                                               const Eigen::Ref<const Eigen::MatrixXd>& M) const {
  assert(l >= 1 && l <= top_layer());
  if (l == 1) return Eigen::MatrixXd::Zero(M.rows(), M.cols());
  // THEORY.md §9.2: Σ^(l)[M] = V^(l)[M] + J^(l)[Σ^(l−1)[J^(l)ᵀ[M]]].
  const JacobianOperator& J = jacobian(l);
  return apply_one_layer(l, M) + apply_jacobian(J, apply(l - 1, apply_jacobian_adjoint(J, M)));
}

PriorCovarianceOperator prior_covariance_operator(const core::ModelSpec& spec,
                                                  const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                                                  const core::TheorySettings& settings,
                                                  std::uint64_t seed) {
  const core::KernelStack nngp = nngp_kernels(spec, inputs, settings.quadrature_tolerance);
  const core::FourPointMethod method = four_point_method_for(spec, nngp, settings);
  std::vector<OneLayerCovarianceOperator> one_layer(static_cast<std::size_t>(nngp.top_layer()));
  for (Eigen::Index l = 2; l <= nngp.top_layer(); ++l) {
    OneLayerCovarianceOperator& V = one_layer[static_cast<std::size_t>(l - 1)];
    V.scale = one_layer_covariance_scale(spec, l);
    if (method == core::FourPointMethod::quadrature) {
      V.product_covariance =
          product_covariance_quadrature(spec.activation, nngp.layer(l - 1), settings.four_point_nodes);
    } else {
      core::Engine engine = core::make_stream(seed, core::StreamPurpose::four_point_mc, 0,
                                              static_cast<std::uint64_t>(l));
      V.draws = draw_activations(spec.activation, nngp.layer(l - 1), settings.four_point_samples, engine);
    }
  }
  return PriorCovarianceOperator(jacobian_operators(spec, nngp, settings.quadrature_tolerance),
                                 std::move(one_layer));
}

core::FourPointMethod four_point_method_for(const core::ModelSpec& spec, const core::KernelStack& nngp,
                                            const core::TheorySettings& settings) {
  double max_variance = 0.0;
  for (Eigen::Index l = 1; l < nngp.top_layer(); ++l)
    max_variance = std::max(max_variance, nngp.layer(l).diagonal().maxCoeff());
  return resolve_four_point_method(settings, spec.activation, nngp.layer(1).rows(), max_variance);
}

}  // namespace kernelmc::theory
