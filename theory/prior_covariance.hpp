#pragma once
// Leading-order (1/N) prior covariance of the kernels (THEORY.md §3.1, §3.4, §9.2):
//   V^(l) = (g_l²/N_{l−1}) [⟨φ_aφ_bφ_cφ_d⟩ − ⟨φ_aφ_b⟩⟨φ_cφ_d⟩] at C_GP^(l−1)   (one layer),
//   Σ^(1) = 0,  Σ^(l) = V^(l) + J^(l) Σ^(l−1) J^(l)ᵀ                           (all layers).
// Two forms. Explicit: K×K matrices over the upper-triangle entries (K = P(P+1)/2, order
// of core::upper_triangle), entry (k, k') = Cov(C_ab, C_cd) for k = (a ≤ b), k' = (c ≤ d),
// each entry counted once. Operator: Σ[M]_ab = Σ_{c,d} Cov(C_ab, C_cd) M_cd over all
// ordered pairs (c, d), for symmetric P×P M, without any P⁴ object.
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "core/kernel_stack.hpp"
#include "core/layer_stack.hpp"
#include "core/model_spec.hpp"
#include "core/settings/theory.hpp"
#include "theory/four_point.hpp"
#include "theory/jacobian_operators.hpp"

namespace kernelmc::theory {

// The method resolve_four_point_method picks for this model, at the largest variance of
// C_GP^(1..L), the kernels at which the V's are evaluated.
core::FourPointMethod four_point_method_for(const core::ModelSpec& spec, const core::KernelStack& nngp,
                                            const core::TheorySettings& settings);

// g_l²/N_{l−1}, the factor between V^(l) and the product covariance Q at C^(l−1).
double one_layer_covariance_scale(const core::ModelSpec& spec, Eigen::Index l);

// Σ^(l) for l = 1..L+1 (returned [l−1]) from the explicit V^(l) (`one_layer[l−1]`, K×K;
// entry 0 is not read) and J^(l) (`jacobians[l−1]`; entry 0 is not read):
// Σ^(1) = 0, Σ^(l) = V^(l) + T^(l) Σ^(l−1) T^(l)ᵀ with T the triangle matrix of J.
std::vector<Eigen::MatrixXd> prior_covariance_recursion(
    const std::vector<Eigen::MatrixXd>& one_layer, const std::vector<JacobianOperator>& jacobians);

// V^(l) as an operator: backed by an explicit Q (quadrature, small P) or by Monte Carlo
// draws φ(h), h ~ N(0, C_GP^(l−1)) (THEORY.md §9.2: N V[M] = g² Cov(φ_aφ_b, φᵀMφ)).
struct OneLayerCovarianceOperator {
  double scale = 0.0;                  // g_l²/N_{l−1}
  Eigen::MatrixXd product_covariance;  // explicit Q (K×K), or empty
  ActivationDraws draws;               // used when product_covariance is empty

  // V^(l)[M] = scale · Q[M].
  Eigen::MatrixXd apply(const Eigen::Ref<const Eigen::MatrixXd>& M) const;
};

// Σ^(l)[M] through the recursion Σ^(l)[M] = V^(l)[M] + J^(l)[Σ^(l−1)[J^(l)ᵀ[M]]]
// (THEORY.md §9.2): l applications of V for layer l, and O(P²) work for each J.
class PriorCovarianceOperator {
 public:
  // jacobians[l−1] = J^(l), one_layer[l−1] = V^(l) for l = 2..L+1 (entries 0 unused).
  PriorCovarianceOperator(std::vector<JacobianOperator> jacobians,
                          std::vector<OneLayerCovarianceOperator> one_layer);

  // L + 1.
  Eigen::Index top_layer() const { return jacobians_.last_layer(); }
  const JacobianOperator& jacobian(Eigen::Index l) const;
  // V^(l)[M], l = 2..L+1.
  Eigen::MatrixXd apply_one_layer(Eigen::Index l, const Eigen::Ref<const Eigen::MatrixXd>& M) const;
  // Σ^(l)[M], l = 1..L+1 (zero for l = 1).
  Eigen::MatrixXd apply(Eigen::Index l, const Eigen::Ref<const Eigen::MatrixXd>& M) const;

 private:
  core::LayerStack<JacobianOperator> jacobians_;            // layer(l) = J^(l), l = 1..L+1
  core::LayerStack<OneLayerCovarianceOperator> one_layer_;  // layer(l) = V^(l), l = 1..L+1
};

// The operator for a model and inputs: NNGP kernels, J^(l) at C_GP^(l−1), and V^(l) by
// the method resolve_four_point_method picks (quadrature: explicit Q; Monte Carlo:
// settings.four_point_samples draws from make_stream(seed, four_point_mc, 0, l), the
// same draws prior_moments uses).
PriorCovarianceOperator prior_covariance_operator(const core::ModelSpec& spec,
                                                  const Eigen::Ref<const Eigen::MatrixXd>& inputs,
                                                  const core::TheorySettings& settings,
                                                  std::uint64_t seed);

}  // namespace kernelmc::theory
