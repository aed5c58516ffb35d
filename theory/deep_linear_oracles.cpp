#include "theory/deep_linear_oracles.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "theory/detail/messages.hpp"
#include "theory/gp_likelihood.hpp"

namespace kernelmc::theory {

namespace {

using detail::config_fail;
using detail::format_number;
using detail::residual_history_text;

void check_layer(const core::ModelSpec& spec, Eigen::Index layer) {
  if (layer < 1 || layer > spec.depth() + 1)
    config_fail("layer", std::to_string(layer),
                "must lie in 1..L+1 = 1.." + std::to_string(spec.depth() + 1));
}

double width_of(const core::ModelSpec& spec) { return static_cast<double>(spec.width(1)); }

// X = g·M(I − 2g T M)⁻¹ for symmetric M, T: both linear FB maps of THEORY.md §4.3 have
// this form. Xᵀ = (I − 2g M T)⁻¹(g M) is one LU solve; X is symmetric and is symmetrised
// against round-off (§9.6).
Eigen::MatrixXd tilted_linear_map(double g, const Eigen::MatrixXd& M, const Eigen::MatrixXd& T) {
  const Eigen::Index P = M.rows();
  const Eigen::MatrixXd system = Eigen::MatrixXd::Identity(P, P) - 2.0 * g * M * T;
  const Eigen::MatrixXd solved = Eigen::PartialPivLU<Eigen::MatrixXd>(system).solve(g * M);
  return 0.5 * (solved + solved.transpose());
}

// C̃^(L+1) = (A yyᵀA − A)/(2N), A = (C + κI)⁻¹ (THEORY.md §4.3, boundary condition (B)).
Eigen::MatrixXd output_tilt(const Eigen::MatrixXd& C, const Eigen::VectorXd& y, double kappa,
                            double N) {
  const Eigen::Index P = C.rows();
  const Eigen::MatrixXd A = regularised_inverse(regularised_cholesky("deep linear FB", C, P, kappa));
  const Eigen::VectorXd a = A * y;
  const Eigen::MatrixXd tilt = (a * a.transpose() - A) / (2.0 * N);
  return 0.5 * (tilt + tilt.transpose());
}

void check_deep_linear_model(const core::ModelSpec& spec) {
  core::validate(spec);
  if (spec.activation != core::Activation::linear)
    config_fail("model.activation", std::string(core::activation_name(spec.activation)),
                "the deep linear oracles need linear");
  if (spec.bias_variance != 0.0)
    config_fail("model.bias_variance", format_number(spec.bias_variance),
                "the deep linear oracles need 0");
  for (Eigen::Index l = 2; l <= spec.depth(); ++l) {
    if (spec.width(l) != spec.width(1))
      config_fail("model.width[" + std::to_string(l) + "]", std::to_string(spec.width(l)),
                  "the deep linear oracles need all widths equal to model.width[1] = " +
                      std::to_string(spec.width(1)));
  }
  if (spec.output_dim != 1)
    config_fail("model.output_dim", std::to_string(spec.output_dim),
                "the deep linear oracles need one output");
}

}  // namespace

void check_deep_linear_inputs(const core::ModelSpec& spec,
                              const Eigen::Ref<const Eigen::MatrixXd>& input_kernel) {
  check_deep_linear_model(spec);
  const Eigen::Index P = input_kernel.rows();
  if (P == 0 || input_kernel.cols() != P)
    throw DataError("input kernel K0 is " + std::to_string(P) + "x" +
                    std::to_string(input_kernel.cols()) + ": must be square and non-empty");
  if (!input_kernel.allFinite()) throw DataError("input kernel K0 has a non-finite entry");
  const double asymmetry = (input_kernel - input_kernel.transpose()).cwiseAbs().maxCoeff();
  if (asymmetry > 1e-12 * input_kernel.cwiseAbs().maxCoeff())
    throw DataError("input kernel K0: max |K0 - K0^T| = " + format_number(asymmetry) +
                    ": must be symmetric");
}

void check_deep_linear_inputs(const core::ModelSpec& spec,
                              const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                              const Eigen::Ref<const Eigen::VectorXd>& targets) {
  check_deep_linear_inputs(spec, input_kernel);
  if (targets.size() != input_kernel.rows())
    throw DataError("targets y have " + std::to_string(targets.size()) +
                    " entries: must have one per input, P = " +
                    std::to_string(input_kernel.rows()));
  if (!targets.allFinite()) throw DataError("targets y have a non-finite entry");
}

double gain_product(const core::ModelSpec& spec, Eigen::Index first, Eigen::Index last) {
  double product = 1.0;
  for (Eigen::Index l = first; l <= last; ++l) product *= spec.g(l);
  return product;
}

Eigen::MatrixXd deep_linear_prior_mean(const core::ModelSpec& spec,
                                       const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                       Eigen::Index layer) {
  check_deep_linear_inputs(spec, input_kernel);
  check_layer(spec, layer);
  return gain_product(spec, 2, layer) * input_kernel;
}

WishartMomentCoefficients wishart_moment_coefficients(const core::ModelSpec& spec,
                                                      Eigen::Index layer) {
  check_deep_linear_model(spec);
  check_layer(spec, layer);
  // THEORY.md §3.2. With T1 = K_ab K_cd and T2 = K_ac K_bd + K_ad K_bc, the index
  // exchanges (ab,cd) → (ac,bd) and (ad,bc) map T1 to the two halves of T2 and T2 to
  // 2·T1 + T2, so the recursion closes on (product, pairing).
  const double N = width_of(spec);
  WishartMomentCoefficients m;
  for (Eigen::Index l = 2; l <= layer; ++l) {
    const double g2 = spec.g(l) * spec.g(l);
    const WishartMomentCoefficients previous = m;
    m.product = g2 * (previous.product + 2.0 * previous.pairing / N);
    m.pairing = g2 * (previous.pairing + (previous.product + previous.pairing) / N);
  }
  return m;
}

Eigen::MatrixXd deep_linear_prior_covariance(const core::ModelSpec& spec,
                                             const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                             Eigen::Index layer) {
  check_deep_linear_inputs(spec, input_kernel);
  const WishartMomentCoefficients m = wishart_moment_coefficients(spec, layer);
  const double mean_gain = gain_product(spec, 2, layer);
  // Cov = M − E[C_ab]E[C_cd] = (product − mean_gain²) K_ab K_cd + pairing·(K_ac K_bd + K_ad K_bc).
  const double product = m.product - mean_gain * mean_gain;
  const Eigen::Index P = input_kernel.rows();
  const Eigen::Index K = core::triangle_size(P);
  Eigen::MatrixXd covariance(K, K);
  for (Eigen::Index i = 0; i < K; ++i) {
    const auto [a, b] = core::triangle_pair(i, P);
    for (Eigen::Index j = 0; j < K; ++j) {
      const auto [c, d] = core::triangle_pair(j, P);
      covariance(i, j) = product * input_kernel(a, b) * input_kernel(c, d) +
                         m.pairing * (input_kernel(a, c) * input_kernel(b, d) +
                                      input_kernel(a, d) * input_kernel(b, c));
    }
  }
  return covariance;
}

double deep_linear_relative_variance(const core::ModelSpec& spec) {
  check_deep_linear_model(spec);
  return std::pow(1.0 + 2.0 / width_of(spec), static_cast<double>(spec.depth())) - 1.0;
}

core::KernelStack deep_linear_first_order_adaptation(
    const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
    const Eigen::Ref<const Eigen::VectorXd>& targets) {
  check_deep_linear_inputs(spec, input_kernel, targets);
  // THEORY.md §4.6. δC^(l) = Σ_cd Cov(C^(l), C^(L+1)_cd)·∂ℓ/∂C_cd with ∂ℓ/∂C = ½(AyyᵀA − A)
  // (unsymmetrised, §9.1). Cov(C^(l), C^(L+1)) = (∏_{k>l} g_k)·Cov(C^(l), C^(l)) by the
  // linear conditional mean, and the leading pairing coefficient of Cov(C^(l)) is
  // ((l−1)/N) ∏_{k≤l} g_k² (wishart_moment_coefficients at first order); the pairing
  // tensor contracted with a symmetric G gives 2·K₀GK₀.
  const Eigen::Index L = spec.depth();
  const Eigen::Index P = input_kernel.rows();
  const double N = width_of(spec);
  const double G = gain_product(spec, 2, L + 1);
  const Eigen::MatrixXd A =
      regularised_inverse(regularised_cholesky("deep linear one loop", G * input_kernel, P, spec.kappa));
  const Eigen::VectorXd a = A * targets;
  const Eigen::MatrixXd direction = input_kernel * (a * a.transpose() - A) * input_kernel;
  core::KernelStack adaptation = core::zero_kernel_stack(L + 1, P);
  for (Eigen::Index l = 2; l <= L + 1; ++l) {
    const double gains = std::pow(gain_product(spec, 2, l), 2) * gain_product(spec, l + 1, L + 1);
    adaptation.layer(l) = (static_cast<double>(l - 1) / N) * gains * direction;
  }
  return adaptation;
}

namespace {

void check_linear_fb_settings(const LinearFbSettings& settings) {
  if (!(settings.damping > 0.0 && settings.damping <= 1.0))
    config_fail("linear_fb.damping", format_number(settings.damping), "must lie in (0, 1]");
  if (settings.max_iterations < 1)
    config_fail("linear_fb.max_iterations", std::to_string(settings.max_iterations),
                "must be a positive integer");
  if (!(settings.tolerance > 0.0 && std::isfinite(settings.tolerance)))
    config_fail("linear_fb.tolerance", format_number(settings.tolerance),
                "must be finite and > 0");
}

// NumericalError unless every C^(l), l = 2..top, is positive semidefinite (to rounding).
void check_fixed_point_positive(const core::KernelStack& C) {
  for (Eigen::Index l = 2; l <= C.top_layer(); ++l) {
    const double lowest =
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(C.layer(l), Eigen::EigenvaluesOnly).eigenvalues()(0);
    if (lowest < -1e-10 * C.layer(l).cwiseAbs().maxCoeff())
      throw NumericalError("linear_fb_kernels: C^(" + std::to_string(l) + ") has eigenvalue " +
                           format_number(lowest) + ": the fixed point is not positive semidefinite");
  }
}

}  // namespace

LinearFbSolution linear_fb_kernels(const core::ModelSpec& spec,
                                   const Eigen::Ref<const Eigen::MatrixXd>& input_kernel,
                                   const Eigen::Ref<const Eigen::VectorXd>& targets,
                                   const LinearFbSettings& settings) {
  check_deep_linear_inputs(spec, input_kernel, targets);
  check_linear_fb_settings(settings);

  const Eigen::Index L = spec.depth();
  const Eigen::Index P = input_kernel.rows();
  const double N = width_of(spec);
  const Eigen::VectorXd y = targets;
  LinearFbSolution solution;
  solution.conjugate_kernels = core::zero_kernel_stack(L + 1, P);
  solution.kernels = core::zero_kernel_stack(L + 1, P);
  core::KernelStack& C = solution.kernels;
  core::KernelStack& Ct = solution.conjugate_kernels;
  for (Eigen::Index l = 1; l <= L + 1; ++l) C.layer(l) = gain_product(spec, 2, l) * input_kernel;

  // THEORY.md §4.5: backward sweep from the current kernels, forward sweep, damping.
  std::vector<double> history;
  core::KernelStack proposal = C;
  for (int iteration = 1; iteration <= settings.max_iterations; ++iteration) {
    Ct.layer(L + 1) = output_tilt(C.layer(L + 1), y, spec.kappa, N);
    for (Eigen::Index l = L + 1; l >= 3; --l)
      Ct.layer(l - 1) = tilted_linear_map(spec.g(l), Ct.layer(l), C.layer(l - 1));
    for (Eigen::Index l = 2; l <= L + 1; ++l)
      proposal.layer(l) = tilted_linear_map(spec.g(l), proposal.layer(l - 1), Ct.layer(l));

    double change = 0.0;
    double scale = 0.0;
    for (Eigen::Index l = 2; l <= L + 1; ++l) {
      change = std::max(change, (proposal.layer(l) - C.layer(l)).cwiseAbs().maxCoeff());
      scale = std::max(scale, C.layer(l).cwiseAbs().maxCoeff());
      C.layer(l) = (1.0 - settings.damping) * C.layer(l) + settings.damping * proposal.layer(l);
    }
    const double residual = change / scale;
    history.push_back(residual);
    if (!std::isfinite(residual))
      throw NumericalError("linear_fb_kernels: non-finite kernel at iteration " +
                           std::to_string(iteration) + "; residual history: " +
                           residual_history_text(history));
    if (residual <= settings.tolerance) {
      solution.iterations = iteration;
      solution.residual = residual;
      check_fixed_point_positive(C);
      return solution;
    }
  }
  throw NumericalError("linear_fb_kernels: no convergence after " +
                       std::to_string(settings.max_iterations) + " iterations, residual " +
                       format_number(history.back()) + " > linear_fb.tolerance " +
                       format_number(settings.tolerance) +
                       "; residual history: " + residual_history_text(history));
}

}  // namespace kernelmc::theory
