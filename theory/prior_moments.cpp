#include "theory/prior_moments.hpp"

#include "theory/detail/parallel_for.hpp"
#include "theory/four_point.hpp"
#include "theory/jacobian_operators.hpp"
#include "theory/nngp.hpp"
#include "theory/prior_covariance.hpp"
#include "theory/prior_mean_shift.hpp"

namespace kernelmc::theory {

namespace {

// Σ^(l) and μ^(l) from one set of V's.
struct Recursion {
  std::vector<Eigen::MatrixXd> covariance;
  core::KernelStack mean_shift;
};

Recursion run_recursion(const std::vector<Eigen::MatrixXd>& one_layer,
                        const std::vector<JacobianOperator>& jacobians,
                        const std::vector<LayerMapHessian>& hessians) {
  Recursion r;
  r.covariance = prior_covariance_recursion(one_layer, jacobians);
  r.mean_shift = prior_mean_shift_recursion(jacobians, hessians, r.covariance);
  return r;
}

// √(Σ_b (x_b − x̄)² / (B(B − 1))) entrywise: the SE of the mean of B replicates.
Eigen::MatrixXd standard_error(const std::vector<const Eigen::MatrixXd*>& replicates,
                               const Eigen::MatrixXd& mean) {
  Eigen::MatrixXd sum_squares = Eigen::MatrixXd::Zero(mean.rows(), mean.cols());
  for (const Eigen::MatrixXd* x : replicates) sum_squares += (*x - mean).cwiseAbs2();
  const double B = static_cast<double>(replicates.size());
  return (sum_squares / (B * (B - 1.0))).cwiseSqrt();
}

// Product covariances Q at C_GP^(l−1), indexed [l − 1]: one matrix per layer, or
// kFourPointBatches replicates per layer with Monte Carlo (streams four_point_mc, layer l).
std::vector<std::vector<Eigen::MatrixXd>> product_covariances(const core::ModelSpec& spec,
                                                              const core::KernelStack& nngp, bool monte_carlo,
                                                              const core::TheorySettings& settings,
                                                              std::uint64_t seed) {
  const Eigen::Index top = nngp.top_layer();
  std::vector<std::vector<Eigen::MatrixXd>> Q(static_cast<std::size_t>(top));
  if (monte_carlo) {
    detail::parallel_for(top - 1, [&](Eigen::Index i) {
      const Eigen::Index l = i + 2;
      core::Engine engine = core::make_stream(seed, core::StreamPurpose::four_point_mc, 0,
                                              static_cast<std::uint64_t>(l));
      Q[static_cast<std::size_t>(l - 1)] =
          product_covariance_monte_carlo(spec.activation, nngp.layer(l - 1), settings.four_point_samples, engine);
    });
  } else {
    for (Eigen::Index l = 2; l <= top; ++l)
      Q[static_cast<std::size_t>(l - 1)] = {
          product_covariance_quadrature(spec.activation, nngp.layer(l - 1), settings.four_point_nodes)};
  }
  return Q;
}

// V^(l) = (g_l²/N_{l−1}) Q for replicate b of Q, or the mean of all replicates (b < 0).
std::vector<Eigen::MatrixXd> one_layer_covariances(const core::ModelSpec& spec,
                                                   const std::vector<std::vector<Eigen::MatrixXd>>& Q,
                                                   Eigen::Index b, Eigen::Index K) {
  const Eigen::Index top = static_cast<Eigen::Index>(Q.size());
  std::vector<Eigen::MatrixXd> V(static_cast<std::size_t>(top), Eigen::MatrixXd::Zero(K, K));
  for (Eigen::Index l = 2; l <= top; ++l) {
    const std::vector<Eigen::MatrixXd>& q = Q[static_cast<std::size_t>(l - 1)];
    Eigen::MatrixXd& v = V[static_cast<std::size_t>(l - 1)];
    if (b >= 0) {
      v = q[static_cast<std::size_t>(b)];
    } else {
      for (const Eigen::MatrixXd& x : q) v += x;
      v /= static_cast<double>(q.size());
    }
    v *= one_layer_covariance_scale(spec, l);
  }
  return V;
}

// The SEs of Σ and μ in `out` from the recursions of the separate replicates.
void fill_replicate_errors(PriorMoments& out, const std::vector<Recursion>& runs) {
  for (Eigen::Index l = 2; l <= out.nngp.top_layer(); ++l) {
    const std::size_t i = static_cast<std::size_t>(l - 1);
    std::vector<const Eigen::MatrixXd*> sigma, mu;
    for (const Recursion& r : runs) {
      sigma.push_back(&r.covariance[i]);
      mu.push_back(&r.mean_shift.layer(l));
    }
    out.covariance_standard_error[i] = standard_error(sigma, out.covariance[i]);
    out.mean_shift_standard_error.layer(l) = standard_error(mu, out.mean_shift.layer(l));
  }
}

}  // namespace

PriorMoments prior_moments(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                           const core::TheorySettings& settings, std::uint64_t seed) {
  const double tolerance = settings.quadrature_tolerance;
  PriorMoments out;
  out.nngp = nngp_kernels(spec, inputs, tolerance);
  const Eigen::Index top = out.nngp.top_layer();
  const Eigen::Index P = inputs.rows();
  const Eigen::Index K = core::triangle_size(P);
  out.method_used = four_point_method_for(spec, out.nngp, settings);

  const std::vector<JacobianOperator> jacobians = jacobian_operators(spec, out.nngp, tolerance);
  std::vector<LayerMapHessian> hessians(static_cast<std::size_t>(top));
  for (Eigen::Index l = 2; l <= top; ++l)
    hessians[static_cast<std::size_t>(l - 1)] = layer_map_hessian(spec, l, out.nngp.layer(l - 1), tolerance);

  const bool monte_carlo = out.method_used == core::FourPointMethod::monte_carlo;
  const std::vector<std::vector<Eigen::MatrixXd>> Q = product_covariances(spec, out.nngp, monte_carlo, settings, seed);
  Recursion estimate = run_recursion(one_layer_covariances(spec, Q, -1, K), jacobians, hessians);
  out.covariance = std::move(estimate.covariance);
  out.mean_shift = std::move(estimate.mean_shift);
  out.covariance_standard_error.assign(static_cast<std::size_t>(top), Eigen::MatrixXd::Zero(K, K));
  out.mean_shift_standard_error = core::zero_kernel_stack(top, P);
  if (!monte_carlo) return out;

  std::vector<Recursion> runs;
  for (Eigen::Index b = 0; b < kFourPointBatches; ++b)
    runs.push_back(run_recursion(one_layer_covariances(spec, Q, b, K), jacobians, hessians));
  fill_replicate_errors(out, runs);
  return out;
}

}  // namespace kernelmc::theory
