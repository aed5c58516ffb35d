#include "theory/one_loop.hpp"

#include <Eigen/Cholesky>
#include <cassert>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "theory/detail/parallel_for.hpp"
#include "theory/four_point.hpp"
#include "theory/nngp.hpp"
#include "theory/one_loop_operator.hpp"
#include "theory/one_loop_route.hpp"
#include "theory/prior_moments.hpp"

namespace kernelmc::theory {

void check_one_loop_inputs(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                           const Eigen::Ref<const Eigen::MatrixXd>& targets) {
  core::validate(spec);
  core::check_input_columns(spec, inputs, "one_loop");
  core::check_target_columns(spec, targets, "one_loop");
  if (targets.rows() < 1 || targets.rows() > inputs.rows())
    throw DataError("one_loop: targets have " + std::to_string(targets.rows()) +
                    " rows: must be between 1 and the number of inputs, " + std::to_string(inputs.rows()));
  if (!inputs.allFinite() || !targets.allFinite())
    throw DataError("one_loop: inputs and targets must be finite");
}

MatrixEstimate replicate_estimate(const std::vector<Eigen::MatrixXd>& replicates) {
  assert(!replicates.empty());
  const double B = static_cast<double>(replicates.size());
  MatrixEstimate out;
  out.value = Eigen::MatrixXd::Zero(replicates[0].rows(), replicates[0].cols());
  for (const Eigen::MatrixXd& x : replicates) out.value += x;
  out.value /= B;
  out.standard_error = Eigen::MatrixXd::Zero(out.value.rows(), out.value.cols());
  if (replicates.size() < 2) return out;
  for (const Eigen::MatrixXd& x : replicates) out.standard_error += (x - out.value).cwiseAbs2();
  out.standard_error = (out.standard_error / (B * (B - 1.0))).cwiseSqrt();
  return out;
}

core::KernelStack backpropagate_gradient(const std::vector<JacobianOperator>& jacobians,
                                         const Eigen::Ref<const Eigen::MatrixXd>& output_gradient) {
  const Eigen::Index top = static_cast<Eigen::Index>(jacobians.size());
  core::KernelStack G = core::zero_kernel_stack(top, output_gradient.rows());
  G.layer(top) = output_gradient;
  // THEORY.md §4.6: C̃^(l) = J^(l+1)ᵀ C̃^(l+1).
  for (Eigen::Index l = top - 1; l >= 1; --l)
    G.layer(l) = apply_jacobian_adjoint(jacobians[static_cast<std::size_t>(l)], G.layer(l + 1));
  return G;
}

std::vector<Eigen::MatrixXd> PriorCovarianceReplicates::apply(Eigen::Index l,
                                                              const Eigen::Ref<const Eigen::MatrixXd>& M) const {
  std::vector<Eigen::MatrixXd> out(replicates.size());
  const Eigen::MatrixXd m = M;
  detail::parallel_for(static_cast<Eigen::Index>(replicates.size()), [&](Eigen::Index b) {
    out[static_cast<std::size_t>(b)] = replicates[static_cast<std::size_t>(b)].apply(l, m);
  });
  return out;
}

MatrixEstimate PriorCovarianceReplicates::estimate(Eigen::Index l, const Eigen::Ref<const Eigen::MatrixXd>& M) const {
  return replicate_estimate(apply(l, M));
}

PriorCovarianceReplicates prior_covariance_replicates(const core::ModelSpec& spec, const core::KernelStack& nngp,
                                                      const core::TheorySettings& settings, std::uint64_t seed) {
  const Eigen::Index top = nngp.top_layer();
  PriorCovarianceReplicates out;
  out.method = four_point_method_for(spec, nngp, settings);
  const std::vector<JacobianOperator> jacobians = jacobian_operators(spec, nngp, settings.quadrature_tolerance);
  std::vector<OneLayerCovarianceOperator> one_layer(static_cast<std::size_t>(top));
  if (out.method == core::FourPointMethod::quadrature) {
    for (Eigen::Index l = 2; l <= top; ++l)
      one_layer[static_cast<std::size_t>(l - 1)] = {
          one_layer_covariance_scale(spec, l),
          product_covariance_quadrature(spec.activation, nngp.layer(l - 1), settings.four_point_nodes), {}};
    out.replicates.emplace_back(jacobians, std::move(one_layer));
    return out;
  }
  // Monte Carlo: the draws of prior_covariance_operator, one stream per layer.
  std::vector<ActivationDraws> draws(static_cast<std::size_t>(top));
  detail::parallel_for(top - 1, [&](Eigen::Index i) {
    const Eigen::Index l = i + 2;
    core::Engine engine = core::make_stream(seed, core::StreamPurpose::four_point_mc, 0, static_cast<std::uint64_t>(l));
    draws[static_cast<std::size_t>(l - 1)] =
        draw_activations(spec.activation, nngp.layer(l - 1), settings.four_point_samples, engine);
  });
  const Eigen::Index batches = draws[1].batches();
  for (Eigen::Index b = 0; b < batches; ++b) {
    for (Eigen::Index l = 2; l <= top; ++l) {
      const ActivationDraws& d = draws[static_cast<std::size_t>(l - 1)];
      const Eigen::Index first = d.batch_starts[static_cast<std::size_t>(b)];
      const Eigen::Index n = d.batch_starts[static_cast<std::size_t>(b + 1)] - first;
      one_layer[static_cast<std::size_t>(l - 1)] = {one_layer_covariance_scale(spec, l), {},
                                                    ActivationDraws{d.phi.middleRows(first, n), {0, n}}};
    }
    out.replicates.emplace_back(jacobians, one_layer);
  }
  return out;
}

AdaptationEstimate first_order_adaptation(const PriorCovarianceReplicates& covariance,
                                          const core::KernelStack& gradients) {
  const Eigen::Index top = gradients.top_layer();
  const Eigen::Index P = gradients.layer(1).rows();
  AdaptationEstimate out{core::zero_kernel_stack(top, P), core::zero_kernel_stack(top, P)};
  for (Eigen::Index l = 2; l <= top; ++l) {
    // THEORY.md §4.6: δC^(l) = NΣ^(l)[C̃^(l)] = Σ^(l)[G^(l)].
    MatrixEstimate e = covariance.estimate(l, gradients.layer(l));
    out.value.layer(l) = std::move(e.value);
    out.standard_error.layer(l) = std::move(e.standard_error);
  }
  return out;
}

Eigen::MatrixXd cross_layer_covariance(const std::vector<Eigen::MatrixXd>& covariance,
                                       const std::vector<JacobianOperator>& jacobians, Eigen::Index l,
                                       Eigen::Index m) {
  assert(l >= 1 && l <= m && m <= static_cast<Eigen::Index>(covariance.size()));
  // THEORY.md §3.4: Cov(C^(l), C^(m)) = Σ^(l) (J^(m) ⋯ J^(l+1))ᵀ = Σ^(l) T^(l+1)ᵀ ⋯ T^(m)ᵀ.
  Eigen::MatrixXd X = covariance[static_cast<std::size_t>(l - 1)];
  for (Eigen::Index k = l + 1; k <= m; ++k)
    X = (X * jacobian_triangle_matrix(jacobians[static_cast<std::size_t>(k - 1)]).transpose()).eval();
  return X;
}

Eigen::VectorXd triangle_gradient(const Eigen::Ref<const Eigen::MatrixXd>& G) {
  const Eigen::Index P = G.rows();
  Eigen::VectorXd out(core::triangle_size(P));
  Eigen::Index k = 0;
  for (Eigen::Index a = 0; a < P; ++a)
    for (Eigen::Index b = a; b < P; ++b) out(k++) = a == b ? G(a, a) : G(a, b) + G(b, a);
  return out;
}

core::KernelStack explicit_first_order_adaptation(const std::vector<Eigen::MatrixXd>& covariance,
                                                  const std::vector<JacobianOperator>& jacobians,
                                                  const Eigen::Ref<const Eigen::MatrixXd>& output_gradient) {
  const Eigen::Index top = static_cast<Eigen::Index>(covariance.size());
  const Eigen::Index P = output_gradient.rows();
  const Eigen::VectorXd gradient = triangle_gradient(output_gradient);
  core::KernelStack out = core::zero_kernel_stack(top, P);
  // THEORY.md §4.6 (boxed): δC^(l)_k = Σ_k' Cov(C^(l)_k, C^(L+1)_k') ∂ℓ/∂x_k'.
  for (Eigen::Index l = 2; l <= top; ++l)
    out.layer(l) = core::from_upper_triangle(cross_layer_covariance(covariance, jacobians, l, top) * gradient, P);
  return out;
}

OneLoopPrediction one_loop_prediction(const core::ModelSpec& spec, const core::Dataset& data,
                                      const core::TheorySettings& settings, std::uint64_t seed) {
  core::validate(data);
  return one_loop_prediction(spec, data.inputs, data.targets, settings, seed);
}

OneLoopPrediction one_loop_prediction(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                                      const Eigen::Ref<const Eigen::MatrixXd>& targets,
                                      const core::TheorySettings& settings, std::uint64_t seed) {
  check_one_loop_inputs(spec, inputs, targets);
  core::validate(settings);
  const OneLoopRouteChoice route =
      choose_one_loop_route(spec, nngp_kernels(spec, inputs, settings.quadrature_tolerance), settings, false);
  if (route.route == OneLoopRoute::operator_form)
    return operator_one_loop(spec, inputs, targets, settings, seed).one_loop;

  PriorMoments prior = prior_moments(spec, inputs, settings, seed);
  const PriorCovarianceReplicates covariance = prior_covariance_replicates(spec, prior.nngp, settings, seed);
  return one_loop_prediction(spec, std::move(prior), covariance, targets, settings);
}

OneLoopPrediction one_loop_prediction(const core::ModelSpec& spec, PriorMoments prior,
                                      const PriorCovarianceReplicates& covariance,
                                      const Eigen::Ref<const Eigen::MatrixXd>& targets,
                                      const core::TheorySettings& settings) {
  const Eigen::Index top = spec.depth() + 1;
  const Eigen::Index n = prior.nngp.layer(1).rows();
  if (prior.nngp.top_layer() != top || targets.rows() > n)
    throw DataError("one_loop: prior moments of layers 1.." + std::to_string(prior.nngp.top_layer()) + " on " +
                    std::to_string(n) + " inputs do not fit a depth-" + std::to_string(spec.depth()) +
                    " model with " + std::to_string(targets.rows()) + " training targets");
  OneLoopPrediction out;
  out.method_used = prior.method_used;
  out.nngp = std::move(prior.nngp);
  out.mean_shift = std::move(prior.mean_shift);
  out.mean_shift_standard_error = std::move(prior.mean_shift_standard_error);

  const std::vector<JacobianOperator> jacobians = jacobian_operators(spec, out.nngp, settings.quadrature_tolerance);
  const core::KernelStack gradients =
      backpropagate_gradient(jacobians, likelihood_gradient(out.nngp.layer(top), targets, spec.kappa));
  out.tilts = core::zero_kernel_stack(top, n);
  for (Eigen::Index l = 2; l <= top; ++l)
    out.tilts.layer(l) = gradients.layer(l) / static_cast<double>(spec.width(l - 1));

  AdaptationEstimate adaptation = first_order_adaptation(covariance, gradients);
  out.adaptation = std::move(adaptation.value);
  out.adaptation_standard_error = std::move(adaptation.standard_error);

  out.posterior_mean = out.nngp;
  for (Eigen::Index l = 2; l <= top; ++l)
    out.posterior_mean.layer(l) = out.nngp.layer(l) + out.mean_shift.layer(l) + out.adaptation.layer(l);
  return out;
}

}  // namespace kernelmc::theory
