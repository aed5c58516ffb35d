#include "theory/one_loop_operator.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/rng.hpp"
#include "theory/detail/parallel_for.hpp"
#include "theory/four_point.hpp"
#include "theory/jacobian_operators.hpp"
#include "theory/nngp.hpp"
#include "theory/prior_covariance.hpp"
#include "theory/prior_mean_shift.hpp"

namespace kernelmc::theory {

namespace {

// Everything the route needs per layer l = 2..L+1: the draws (empty for linear φ) and V^(l)'s
// pair-local entries, one per replicate.
struct OneLayerParts {
  core::LayerStack<ActivationDraws> draws;
  core::LayerStack<std::vector<PairCovariance>> pairs;  // layer(l)[replicate], times g_l²/N_{l−1}
};

OneLayerParts one_layer_parts(const core::ModelSpec& spec, const core::KernelStack& nngp, Eigen::Index samples,
                              std::uint64_t seed) {
  const Eigen::Index top = nngp.top_layer();
  const bool linear = spec.activation == core::Activation::linear;
  const bool exact_pairs = has_exact_pair_product_covariance(spec.activation);
  OneLayerParts parts{core::LayerStack<ActivationDraws>(2, top), core::LayerStack<std::vector<PairCovariance>>(2, top)};
  for (Eigen::Index l = 2; l <= top; ++l) {
    if (!linear) {
      core::Engine engine = core::make_stream(seed, core::StreamPurpose::four_point_mc, 0, static_cast<std::uint64_t>(l));
      parts.draws.layer(l) = draw_activations(spec.activation, nngp.layer(l - 1), samples, engine);
    }
    const double scale = one_layer_covariance_scale(spec, l);
    if (exact_pairs)
      parts.pairs.layer(l) = {scale * pair_product_covariance_exact(spec.activation, nngp.layer(l - 1))};
    else
      for (const PairCovariance& q : pair_product_covariance_draws(parts.draws.layer(l)))
        parts.pairs.layer(l).push_back(scale * q);
  }
  return parts;
}

// V^(l)[M] for every replicate: closed form for linear φ (one), else one per batch of draws.
std::vector<Eigen::MatrixXd> apply_one_layer(const core::ModelSpec& spec, const core::KernelStack& nngp,
                                             const OneLayerParts& parts, Eigen::Index l, const Eigen::MatrixXd& M) {
  const double scale = one_layer_covariance_scale(spec, l);
  if (spec.activation == core::Activation::linear) {
    // Isserlis: Σ_cd (K_ac K_bd + K_ad K_bc) M_cd = (K M K + K Mᵀ K)_ab.
    const Eigen::MatrixXd& K = nngp.layer(l - 1);
    return {scale * (K * (M + M.transpose()) * K)};
  }
  std::vector<Eigen::MatrixXd> out = apply_product_covariance(parts.draws.layer(l), M);
  for (Eigen::MatrixXd& x : out) x *= scale;
  return out;
}

// Replicate b of a list holding one (deterministic) or B entries.
template <class T>
const T& replicate(const std::vector<T>& list, std::size_t b) {
  return list.size() == 1 ? list[0] : list[b];
}

// μ^(l) and Σ^(l)'s pair entries with their standard errors (one replicate when exact).
void fill_prior(const std::vector<JacobianOperator>& jacobians, const std::vector<LayerMapHessian>& hessians,
                const OneLayerParts& parts, OperatorOneLoop& out) {
  const std::size_t top = jacobians.size();
  const std::size_t replicates = parts.pairs.layer(2).size();
  std::vector<std::vector<PairCovariance>> sigma(replicates);
  std::vector<core::KernelStack> mu(replicates);
  detail::parallel_for(static_cast<Eigen::Index>(replicates), [&](Eigen::Index b) {
    std::vector<PairCovariance> one_layer(top);  // [l − 1], as pair_covariance_recursion takes it
    for (Eigen::Index l = 2; l <= static_cast<Eigen::Index>(top); ++l)
      one_layer[static_cast<std::size_t>(l - 1)] = parts.pairs.layer(l)[static_cast<std::size_t>(b)];
    sigma[static_cast<std::size_t>(b)] = pair_covariance_recursion(one_layer, jacobians);
    mu[static_cast<std::size_t>(b)] = prior_mean_shift_recursion(jacobians, hessians, sigma[static_cast<std::size_t>(b)]);
  });
  const Eigen::Index P = jacobians.back().points();
  out.one_loop.mean_shift = core::zero_kernel_stack(static_cast<Eigen::Index>(top), P);
  out.one_loop.mean_shift_standard_error = out.one_loop.mean_shift;
  out.covariance = core::LayerStack<PairCovariance>(1, static_cast<Eigen::Index>(top));
  out.covariance_standard_error = out.covariance;
  for (Eigen::Index l = 1; l <= static_cast<Eigen::Index>(top); ++l) {
    const std::size_t i = static_cast<std::size_t>(l - 1);
    std::vector<Eigen::MatrixXd> m, dd, od, oo;
    for (std::size_t b = 0; b < replicates; ++b) {
      m.push_back(mu[b].layer(l));
      dd.push_back(sigma[b][i].diagonal);
      od.push_back(sigma[b][i].mixed);
      oo.push_back(sigma[b][i].off_diagonal);
    }
    MatrixEstimate e = replicate_estimate(m);
    out.one_loop.mean_shift.layer(l) = std::move(e.value);
    out.one_loop.mean_shift_standard_error.layer(l) = std::move(e.standard_error);
    const MatrixEstimate d = replicate_estimate(dd), o = replicate_estimate(od), f = replicate_estimate(oo);
    out.covariance.layer(l) = {d.value, o.value, f.value};
    out.covariance_standard_error.layer(l) = {d.standard_error, o.standard_error, f.standard_error};
  }
}

// δC^(l) = V^(l)[G^(l)] + J^(l)[δC^(l−1)] per replicate, and its estimate.
void fill_adaptation(const core::ModelSpec& spec, const core::KernelStack& nngp,
                     const std::vector<JacobianOperator>& jacobians, const core::KernelStack& gradients,
                     const OneLayerParts& parts, OperatorOneLoop& out) {
  const Eigen::Index top = nngp.top_layer();
  const Eigen::Index P = gradients.layer(1).rows();
  core::LayerStack<std::vector<Eigen::MatrixXd>> applied(2, top);  // layer(l)[replicate]: V^(l)[G^(l)]
  std::size_t replicates = 1;
  for (Eigen::Index l = 2; l <= top; ++l) {
    applied.layer(l) = apply_one_layer(spec, nngp, parts, l, gradients.layer(l));
    replicates = std::max(replicates, applied.layer(l).size());
  }
  out.one_loop.adaptation = core::zero_kernel_stack(top, P);
  out.one_loop.adaptation_standard_error = core::zero_kernel_stack(top, P);
  std::vector<Eigen::MatrixXd> previous(replicates, Eigen::MatrixXd::Zero(P, P));  // δC^(1) = 0
  for (Eigen::Index l = 2; l <= top; ++l) {
    const JacobianOperator& J = jacobians[static_cast<std::size_t>(l - 1)];
    for (std::size_t b = 0; b < replicates; ++b)
      previous[b] = replicate(applied.layer(l), b) + apply_jacobian(J, previous[b]);
    MatrixEstimate e = replicate_estimate(previous);
    out.one_loop.adaptation.layer(l) = std::move(e.value);
    out.one_loop.adaptation_standard_error.layer(l) = std::move(e.standard_error);
  }
}

std::string describe(const core::ModelSpec& spec, Eigen::Index draws) {
  const std::string pairs = has_exact_pair_product_covariance(spec.activation)
                                ? "pair-local Sigma entries and mu exact (2-input 4-point functions)"
                                : "pair-local Sigma entries and mu from the same draws (standard errors from " +
                                      std::to_string(kFourPointBatches) + " batch replicates)";
  if (spec.activation == core::Activation::linear)
    return "operator route: V[M] = (g^2/N)(K M K + K M^T K) in closed form, " + pairs + "; exact";
  return "operator route: V[M] = (g^2/N) Cov(phi phi^T, phi^T M phi) by Monte Carlo, S = " + std::to_string(draws) +
         " draws per layer (delta C's standard errors from " + std::to_string(kFourPointBatches) +
         " batch replicates), " + pairs;
}

}  // namespace

Eigen::Index operator_route_draws(const core::TheorySettings& settings, Eigen::Index points) {
  const Eigen::Index budget = static_cast<Eigen::Index>(std::floor(kOperatorDrawBudget / static_cast<double>(points)));
  return std::max(kFourPointBatches * kMinDrawsPerBatch, std::min(settings.four_point_samples, budget));
}

OperatorOneLoop operator_one_loop(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                                  const Eigen::Ref<const Eigen::MatrixXd>& targets,
                                  const core::TheorySettings& settings, std::uint64_t seed) {
  check_one_loop_inputs(spec, inputs, targets);
  core::validate(settings);
  const Eigen::Index top = spec.depth() + 1;
  OperatorOneLoop out;
  OneLoopPrediction& one = out.one_loop;
  one.nngp = nngp_kernels(spec, inputs, settings.quadrature_tolerance);
  const bool linear = spec.activation == core::Activation::linear;
  out.draws = linear ? 0 : operator_route_draws(settings, inputs.rows());
  one.method_used = linear ? core::FourPointMethod::quadrature : core::FourPointMethod::monte_carlo;
  out.description = describe(spec, out.draws);

  const std::vector<JacobianOperator> jacobians = jacobian_operators(spec, one.nngp, settings.quadrature_tolerance);
  std::vector<LayerMapHessian> hessians(static_cast<std::size_t>(top));
  for (Eigen::Index l = 2; l <= top; ++l)
    hessians[static_cast<std::size_t>(l - 1)] =
        layer_map_hessian(spec, l, one.nngp.layer(l - 1), settings.quadrature_tolerance);
  const OneLayerParts parts = one_layer_parts(spec, one.nngp, out.draws, seed);
  fill_prior(jacobians, hessians, parts, out);

  const core::KernelStack gradients =
      backpropagate_gradient(jacobians, likelihood_gradient(one.nngp.layer(top), targets, spec.kappa));
  one.tilts = core::zero_kernel_stack(top, inputs.rows());
  for (Eigen::Index l = 2; l <= top; ++l)
    one.tilts.layer(l) = gradients.layer(l) / static_cast<double>(spec.width(l - 1));
  fill_adaptation(spec, one.nngp, jacobians, gradients, parts, out);
  one.posterior_mean = one.nngp;
  for (Eigen::Index l = 2; l <= top; ++l)
    one.posterior_mean.layer(l) = one.nngp.layer(l) + one.mean_shift.layer(l) + one.adaptation.layer(l);
  return out;
}

}  // namespace kernelmc::theory
