#include "theory/pair_covariance.hpp"

#include <cassert>
#include <string>

#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "theory/detail/parallel_for.hpp"
#include "theory/gaussian_expectations.hpp"

namespace kernelmc::theory {

namespace {

Eigen::MatrixXd symmetrised(const Eigen::MatrixXd& X) { return 0.5 * (X + X.transpose()); }

// Q's pair entries from a 4-point function moment4(a, b, c, d) (sorted arguments) and the
// 2-point functions `two`, each entry as M4 − M2·M2 (the form of the explicit assembly).
template <class Moment4>
PairCovariance assemble_pairs(const Eigen::MatrixXd& two, const Moment4& moment4) {
  const Eigen::Index P = two.rows();
  PairCovariance Q = PairCovariance::zero(P);
  detail::parallel_for(P, [&](Eigen::Index a) {
    const double m4 = moment4(a, a, a, a) - two(a, a) * two(a, a);
    Q.diagonal(a, a) = Q.mixed(a, a) = Q.off_diagonal(a, a) = m4;
    for (Eigen::Index b = a + 1; b < P; ++b) {
      const double m22 = moment4(a, a, b, b);
      Q.diagonal(a, b) = m22 - two(a, a) * two(b, b);
      Q.off_diagonal(a, b) = m22 - two(a, b) * two(a, b);
      Q.mixed(a, b) = moment4(a, a, a, b) - two(a, b) * two(a, a);
      Q.mixed(b, a) = moment4(a, b, b, b) - two(a, b) * two(b, b);
    }
  });
  Q.diagonal = Q.diagonal.selfadjointView<Eigen::Upper>();
  Q.off_diagonal = Q.off_diagonal.selfadjointView<Eigen::Upper>();
  return Q;
}

}  // namespace

PairCovariance PairCovariance::zero(Eigen::Index points) {
  const Eigen::MatrixXd z = Eigen::MatrixXd::Zero(points, points);
  return {z, z, z};
}

Eigen::Matrix3d PairCovariance::block(Eigen::Index a, Eigen::Index b) const {
  Eigen::Matrix3d out;
  out << diagonal(a, a), diagonal(a, b), mixed(a, b),  //
      diagonal(b, a), diagonal(b, b), mixed(b, a),     //
      mixed(a, b), mixed(b, a), off_diagonal(a, b);
  return out;
}

PairCovariance operator+(const PairCovariance& x, const PairCovariance& y) {
  return {x.diagonal + y.diagonal, x.mixed + y.mixed, x.off_diagonal + y.off_diagonal};
}

PairCovariance operator*(double s, const PairCovariance& x) {
  return {s * x.diagonal, s * x.mixed, s * x.off_diagonal};
}

PairCovariance pair_covariance_from_triangle(const Eigen::Ref<const Eigen::MatrixXd>& sigma) {
  Eigen::Index P = 0;
  while (core::triangle_size(P) < sigma.rows()) ++P;
  assert(core::triangle_size(P) == sigma.rows() && sigma.cols() == sigma.rows());
  PairCovariance out = PairCovariance::zero(P);
  for (Eigen::Index a = 0; a < P; ++a)
    for (Eigen::Index b = 0; b < P; ++b) {
      const Eigen::Index aa = core::triangle_index(a, a, P), bb = core::triangle_index(b, b, P);
      const Eigen::Index ab = core::triangle_index(a, b, P);
      out.diagonal(a, b) = sigma(aa, bb);
      out.mixed(a, b) = sigma(ab, aa);
      out.off_diagonal(a, b) = sigma(ab, ab);
    }
  return out;
}

PairCovariance propagate_pair_covariance(const JacobianOperator& J, const PairCovariance& X) {
  // C'_ab = α_ab C_ab + β_ab C_aa + β_ba C_bb (α = g⟨φ'φ'ᵀ⟩, β = ½g⟨φ''φᵀ⟩); for a = b this is
  // C'_aa = γ_a C_aa with γ_a = α_aa + 2β_aa, so every formula below holds on the diagonal too.
  const Eigen::ArrayXXd alpha = J.g * J.dphi_dphi.array();
  const Eigen::ArrayXXd beta = 0.5 * J.g * J.ddphi_phi.array();
  const Eigen::ArrayXXd beta_t = beta.transpose();
  const Eigen::VectorXd gamma = alpha.matrix().diagonal() + 2.0 * beta.matrix().diagonal();
  const Eigen::Index P = J.points();
  const Eigen::ArrayXXd dd = X.diagonal.array(), od = X.mixed.array(), oo = X.off_diagonal.array();
  const Eigen::ArrayXXd d_row = X.diagonal.diagonal().replicate(1, P).array();  // (a, b): Var(C_aa)
  const Eigen::ArrayXXd d_col = d_row.transpose();                              // (a, b): Var(C_bb)
  PairCovariance out;
  out.diagonal = (gamma * gamma.transpose()).cwiseProduct(X.diagonal);
  const Eigen::ArrayXXd mixed = alpha * od + beta * d_row + beta_t * dd;
  out.mixed = gamma.asDiagonal() * mixed.matrix();
  const Eigen::ArrayXXd off = alpha * alpha * oo + beta * beta * d_row + beta_t * beta_t * d_col +
                              2.0 * alpha * (beta * od + beta_t * od.transpose()) + 2.0 * beta * beta_t * dd;
  out.off_diagonal = symmetrised(off.matrix());
  return out;
}

bool has_exact_pair_product_covariance(core::Activation activation) {
  return activation == core::Activation::linear || activation == core::Activation::erf;
}

PairCovariance pair_product_covariance_exact(core::Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& C) {
  const Eigen::MatrixXd K = C;
  switch (activation) {
    case core::Activation::linear:
      // Isserlis: ⟨h_ah_bh_ch_d⟩ = C_ab C_cd + C_ac C_bd + C_ad C_bc.
      return assemble_pairs(K, [&](Eigen::Index a, Eigen::Index b, Eigen::Index c, Eigen::Index d) {
        return K(a, b) * K(c, d) + K(a, c) * K(b, d) + K(a, d) * K(b, c);
      });
    case core::Activation::erf:
      return assemble_pairs(expected_phi_phi(core::Activation::erf, K, 0.0),
                            [&](Eigen::Index a, Eigen::Index b, Eigen::Index c, Eigen::Index d) {
                              return erf_four_point(K, a, b, c, d);
                            });
    case core::Activation::relu:
    case core::Activation::tanh: break;
  }
  throw ConfigError("pair_product_covariance_exact: activation " + std::string(core::activation_name(activation)) +
                    ": no exact 4-point route (linear and erf only)");
}

std::vector<PairCovariance> pair_product_covariance_draws(const ActivationDraws& draws) {
  std::vector<PairCovariance> out;
  for (Eigen::Index b = 0; b < draws.batches(); ++b) {
    const Eigen::Index first = draws.batch_starts[static_cast<std::size_t>(b)];
    const Eigen::Index n = draws.batch_starts[static_cast<std::size_t>(b + 1)] - first;
    const auto Phi = draws.phi.middleRows(first, n);
    const Eigen::MatrixXd Phi2 = Phi.cwiseAbs2();
    const Eigen::MatrixXd Phi3 = Phi2.cwiseProduct(Phi);
    const Eigen::MatrixXd M11 = Phi.transpose() * Phi;   // Σ_s φ_aφ_b
    const Eigen::MatrixXd M22 = Phi2.transpose() * Phi2; // Σ_s φ_a²φ_b²
    const Eigen::MatrixXd M31 = Phi3.transpose() * Phi;  // Σ_s φ_a³φ_b
    const Eigen::VectorXd u = M11.diagonal();            // Σ_s φ_a²
    const double m = static_cast<double>(n);
    // Unbiased covariances (Σ xy − Σx Σy / n)/(n − 1) of the products.
    PairCovariance Q;
    Q.diagonal = (M22 - u * u.transpose() / m) / (m - 1.0);
    Q.off_diagonal = (M22 - M11.cwiseAbs2() / m) / (m - 1.0);
    Q.mixed = (M31 - u.asDiagonal() * M11 / m) / (m - 1.0);
    out.push_back(std::move(Q));
  }
  return out;
}

std::vector<PairCovariance> pair_covariance_recursion(const std::vector<PairCovariance>& one_layer,
                                                      const std::vector<JacobianOperator>& jacobians) {
  assert(one_layer.size() == jacobians.size() && one_layer.size() >= 2);
  std::vector<PairCovariance> sigma{PairCovariance::zero(one_layer[1].points())};  // Σ^(1) = 0
  // THEORY.md §3.4: Σ^(l) = V^(l) + J^(l) Σ^(l−1) J^(l)ᵀ, entry by entry on the pairs.
  for (std::size_t i = 1; i < one_layer.size(); ++i)
    sigma.push_back(one_layer[i] + propagate_pair_covariance(jacobians[i], sigma.back()));
  return sigma;
}

}  // namespace kernelmc::theory
