#include "theory/gaussian_expectations.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <sstream>
#include <string>

#include "core/error.hpp"

namespace kernelmc::theory {

namespace {

using core::Activation;
constexpr double kPi = std::numbers::pi;

// Derivative orders (i, j) of ⟨φ^{(i)}_a φ^{(j)}_b⟩ for each PairMoment.
std::pair<int, int> orders_of(PairMoment moment) {
  switch (moment) {
    case PairMoment::phi_phi: return {0, 0};
    case PairMoment::dphi_dphi: return {1, 1};
    case PairMoment::ddphi_phi: return {2, 0};
  }
  return {0, 0};
}

// THEORY.md §2 table, erf row (Williams 1997), with u = 1 + 2C_aa, v = 1 + 2C_bb.
double erf_pair(PairMoment moment, double Caa, double Cbb, double Cab, bool diagonal) {
  if (diagonal) {
    const double q = Caa;
    switch (moment) {
      case PairMoment::phi_phi: return (2.0 / kPi) * std::asin(2.0 * q / (1.0 + 2.0 * q));
      case PairMoment::dphi_dphi: return (4.0 / kPi) / std::sqrt(1.0 + 4.0 * q);
      case PairMoment::ddphi_phi:
        return -(8.0 / kPi) * q / ((1.0 + 2.0 * q) * std::sqrt(1.0 + 4.0 * q));
    }
  }
  const double u = 1.0 + 2.0 * Caa;
  const double v = 1.0 + 2.0 * Cbb;
  switch (moment) {
    case PairMoment::phi_phi: return (2.0 / kPi) * std::asin(2.0 * Cab / std::sqrt(u * v));
    case PairMoment::dphi_dphi: return (4.0 / kPi) / std::sqrt(u * v - 4.0 * Cab * Cab);
    // −(4/π) x/(u√(1−x²)) with x = 2C_ab/√(uv), i.e. −(8/π) C_ab/(u √(uv − 4C_ab²)).
    case PairMoment::ddphi_phi: return -(8.0 / kPi) * Cab / (u * std::sqrt(u * v - 4.0 * Cab * Cab));
  }
  return 0.0;
}

// THEORY.md §2 table, ReLU row (Cho & Saul 2009 arc-cosine kernel of degree 1), and the
// distributional ⟨δ(h_a) relu(h_b)⟩ = p_a(0) E[relu(h_b) | h_a = 0].
double relu_pair(PairMoment moment, double Caa, double Cbb, double Cab, bool diagonal) {
  if (diagonal) {
    switch (moment) {
      case PairMoment::phi_phi: return 0.5 * Caa;
      case PairMoment::dphi_dphi: return 0.5;
      case PairMoment::ddphi_phi: return 0.0;  // relu(0) δ(0) = 0
    }
  }
  const double norm = std::sqrt(Caa * Cbb);
  if (!(norm > 0.0)) {
    if (moment == PairMoment::ddphi_phi && !(Caa > 0.0))
      throw NumericalError("ReLU <phi''_a phi_b>: C_aa = " + std::to_string(Caa) +
                           ": an input of zero variance makes the ReLU map non-differentiable");
    // A zero-variance input has φ = 0; φ' at 0 is taken as ½ (the symmetric value).
    return moment == PairMoment::dphi_dphi ? 0.25 : 0.0;
  }
  const double cos_theta = std::clamp(Cab / norm, -1.0, 1.0);
  const double theta = std::acos(cos_theta);
  const double D = std::sqrt(std::max(Caa * Cbb - Cab * Cab, 0.0));  // √(C_aa C_bb) sin θ
  switch (moment) {
    case PairMoment::phi_phi: return (D + (kPi - theta) * Cab) / (2.0 * kPi);
    case PairMoment::dphi_dphi: return (kPi - theta) / (2.0 * kPi);
    case PairMoment::ddphi_phi: return D / (2.0 * kPi * Caa);
  }
  return 0.0;
}

double linear_pair(PairMoment moment, double Cab) {
  switch (moment) {
    case PairMoment::phi_phi: return Cab;
    case PairMoment::dphi_dphi: return 1.0;
    case PairMoment::ddphi_phi: return 0.0;
  }
  return 0.0;
}

bool has_closed_form(Activation activation) { return activation != Activation::tanh; }

// φ, φ', …, φ'''' at x from one evaluation of the transcendental part (the forms of
// activation_derivative_of_order).
std::array<double, 5> derivatives_up_to_4(Activation activation, double x) {
  switch (activation) {
    case Activation::linear: return {x, 1.0, 0.0, 0.0, 0.0};
    case Activation::relu: return {x > 0.0 ? x : 0.0, x > 0.0 ? 1.0 : 0.0, 0.0, 0.0, 0.0};
    case Activation::erf: {
      const double e = 2.0 * std::numbers::inv_sqrtpi * std::exp(-x * x);
      return {std::erf(x), e, -2.0 * x * e, (4.0 * x * x - 2.0) * e, (12.0 * x - 8.0 * x * x * x) * e};
    }
    case Activation::tanh: {
      const double t = std::tanh(x);
      const double s = 1.0 - t * t;
      return {t, s, -2.0 * t * s, -2.0 * s * (1.0 - 3.0 * t * t), 8.0 * t * s * (2.0 - 3.0 * t * t)};
    }
  }
  return {};
}

double closed_form_pair(Activation activation, PairMoment moment, double Caa, double Cbb,
                        double Cab, bool diagonal) {
  switch (activation) {
    case Activation::linear: return linear_pair(moment, Cab);
    case Activation::erf: return erf_pair(moment, Caa, Cbb, Cab, diagonal);
    case Activation::relu: return relu_pair(moment, Caa, Cbb, Cab, diagonal);
    case Activation::tanh: break;
  }
  return NAN;  // unreachable: callers check has_closed_form
}

// ⟨φ^{(i)}(h) φ^{(j)}(h)⟩, h ~ N(0, q), by the 1-D rule.
double diagonal_quadrature(Activation activation, int i, int j, double q,
                           const GaussHermiteRule& rule) {
  const double r = std::sqrt(std::max(q, 0.0));
  double sum = 0.0;
  for (Eigen::Index k = 0; k < rule.nodes.size(); ++k) {
    const double h = r * rule.nodes(k);
    sum += rule.weights(k) * activation_derivative_of_order(activation, i, h) *
           activation_derivative_of_order(activation, j, h);
  }
  return sum;
}

double quadrature_pair(Activation activation, int i, int j, double Caa, double Cbb, double Cab,
                       bool diagonal, const GaussHermiteRule& rule) {
  if (diagonal) return diagonal_quadrature(activation, i, j, Caa, rule);
  return derivative_pair_expectation_quadrature(activation, i, j, Caa, Cbb, Cab, rule);
}

}  // namespace

double activation_derivative_of_order(core::Activation activation, int order, double x) {
  if (order <= 2) {
    if (order == 0) return core::activation_value(activation, x);
    if (order == 1) return core::activation_derivative(activation, x);
    return core::activation_second_derivative(activation, x);
  }
  switch (activation) {
    case Activation::linear:
    case Activation::relu: return 0.0;
    case Activation::erf: {
      // φ' = (2/√π) e^{−x²}; φ''' = (4x² − 2) φ', φ'''' = (12x − 8x³) φ'.
      const double e = 2.0 * std::numbers::inv_sqrtpi * std::exp(-x * x);
      return order == 3 ? (4.0 * x * x - 2.0) * e : (12.0 * x - 8.0 * x * x * x) * e;
    }
    case Activation::tanh: {
      // t = tanh x, s = 1 − t²: φ''' = −2s(1 − 3t²), φ'''' = 8ts(2 − 3t²).
      const double t = std::tanh(x);
      const double s = 1.0 - t * t;
      return order == 3 ? -2.0 * s * (1.0 - 3.0 * t * t) : 8.0 * t * s * (2.0 - 3.0 * t * t);
    }
  }
  return 0.0;
}

Eigen::Index pair_quadrature_nodes(core::Activation activation, double max_variance,
                                   double tolerance,
                                   const std::vector<std::pair<int, int>>& orders) {
  const double r = std::sqrt(std::max(max_variance, 0.0));
  std::vector<std::function<double(double)>> integrands;
  for (const auto& [i, j] : orders) {
    integrands.push_back([=](double z) {
      return activation_derivative_of_order(activation, i, r * z) *
             activation_derivative_of_order(activation, j, r * z);
    });
  }
  return gauss_hermite_nodes_for(integrands, tolerance);
}

double derivative_pair_expectation_quadrature(core::Activation activation, int order_a,
                                              int order_b, double Caa, double Cbb, double Cab,
                                              const GaussHermiteRule& rule) {
  return gaussian_pair_expectation(
      [&](double ha, double hb) {
        return activation_derivative_of_order(activation, order_a, ha) *
               activation_derivative_of_order(activation, order_b, hb);
      },
      Caa, Cbb, Cab, rule);
}

double pair_expectation(core::Activation activation, PairMoment moment, double Caa, double Cbb,
                        double Cab, bool a_equals_b, double tolerance) {
  if (has_closed_form(activation))
    return closed_form_pair(activation, moment, Caa, Cbb, Cab, a_equals_b);
  const auto [i, j] = orders_of(moment);
  const GaussHermiteRule rule = gauss_hermite_rule(
      pair_quadrature_nodes(activation, std::max(Caa, Cbb), tolerance, {{i, j}, {j, i}}));
  return quadrature_pair(activation, i, j, Caa, Cbb, Cab, a_equals_b, rule);
}

Eigen::MatrixXd pair_expectation_matrix(core::Activation activation, PairMoment moment,
                                        const Eigen::Ref<const Eigen::MatrixXd>& C,
                                        double tolerance) {
  const Eigen::Index P = C.rows();
  Eigen::MatrixXd out(P, P);
  const bool symmetric = moment != PairMoment::ddphi_phi;
  if (has_closed_form(activation)) {
    for (Eigen::Index b = 0; b < P; ++b) {
      for (Eigen::Index a = symmetric ? b : 0; a < P; ++a)
        out(a, b) = closed_form_pair(activation, moment, C(a, a), C(b, b), C(a, b), a == b);
    }
  } else {
    const auto [i, j] = orders_of(moment);
    const GaussHermiteRule rule = gauss_hermite_rule(
        pair_quadrature_nodes(activation, C.diagonal().maxCoeff(), tolerance, {{i, j}, {j, i}}));
    // The h_a factor depends on the outer node only: formed once per input.
    const Eigen::Index n = rule.nodes.size();
    Eigen::MatrixXd outer(n, P);
    for (Eigen::Index a = 0; a < P; ++a) {
      const double ra = std::sqrt(std::max(C(a, a), 0.0));
      for (Eigen::Index k = 0; k < n; ++k)
        outer(k, a) = rule.weights(k) * activation_derivative_of_order(activation, i, ra * rule.nodes(k));
    }
    for (Eigen::Index b = 0; b < P; ++b) {
      for (Eigen::Index a = symmetric ? b : 0; a < P; ++a) {
        if (a == b) {
          out(a, a) = diagonal_quadrature(activation, i, j, C(a, a), rule);
          continue;
        }
        // THEORY.md §2 steps 1–3, Cholesky of the 2×2 block with h_a first.
        const double ra = std::sqrt(std::max(C(a, a), 0.0));
        const double rba = ra > 0.0 ? C(a, b) / ra : 0.0;
        const double rbb = std::sqrt(std::max(C(b, b) - rba * rba, 0.0));
        double sum = 0.0;
        for (Eigen::Index k = 0; k < n; ++k) {
          double inner = 0.0;
          for (Eigen::Index m = 0; m < n; ++m)
            inner += rule.weights(m) * activation_derivative_of_order(
                                           activation, j, rba * rule.nodes(k) + rbb * rule.nodes(m));
          sum += outer(k, a) * inner;
        }
        out(a, b) = sum;
      }
    }
  }
  if (symmetric) out.triangularView<Eigen::StrictlyUpper>() = out.transpose();
  return out;
}

Eigen::MatrixXd expected_phi_phi(core::Activation activation,
                                 const Eigen::Ref<const Eigen::MatrixXd>& C, double tolerance) {
  return pair_expectation_matrix(activation, PairMoment::phi_phi, C, tolerance);
}

Eigen::MatrixXd expected_dphi_dphi(core::Activation activation,
                                   const Eigen::Ref<const Eigen::MatrixXd>& C, double tolerance) {
  return pair_expectation_matrix(activation, PairMoment::dphi_dphi, C, tolerance);
}

Eigen::MatrixXd expected_ddphi_phi(core::Activation activation,
                                   const Eigen::Ref<const Eigen::MatrixXd>& C, double tolerance) {
  return pair_expectation_matrix(activation, PairMoment::ddphi_phi, C, tolerance);
}

namespace {

// Indices of the three arguments of a pair map: C_aa, C_bb, C_ab.
constexpr int aa = 0, bb = 1, ab = 2;

// pair_expectation_hessian for erf, in closed form.
Eigen::Matrix3d erf_pair_hessian(double Caa, double Cbb, double Cab) {
  // f = (2/π) asin x, x = 2C_ab/√(uv), u = 1 + 2C_aa, v = 1 + 2C_bb (THEORY.md §2):
  // ∇²f = (2/π)[(1 − x²)^{-1/2} ∇²x + x (1 − x²)^{-3/2} ∇x ∇xᵀ].
  const double u = 1.0 + 2.0 * Caa;
  const double v = 1.0 + 2.0 * Cbb;
  const double root = std::sqrt(u * v);
  const double x = 2.0 * Cab / root;
  const Eigen::Vector3d dx(-x / u, -x / v, 2.0 / root);
  Eigen::Matrix3d ddx;
  ddx(aa, aa) = 3.0 * x / (u * u);
  ddx(bb, bb) = 3.0 * x / (v * v);
  ddx(aa, bb) = ddx(bb, aa) = x / (u * v);
  ddx(aa, ab) = ddx(ab, aa) = -2.0 / (u * root);
  ddx(bb, ab) = ddx(ab, bb) = -2.0 / (v * root);
  ddx(ab, ab) = 0.0;
  const double s = 1.0 - x * x;
  return (2.0 / kPi) * (ddx / std::sqrt(s) + (x / (s * std::sqrt(s))) * dx * dx.transpose());
}

// pair_expectation_hessian for ReLU, in closed form.
Eigen::Matrix3d relu_pair_hessian(double Caa, double Cbb, double Cab) {
  Eigen::Matrix3d H = Eigen::Matrix3d::Zero();
  // f = [D + (π − θ) C_ab]/(2π), D = √(C_aa C_bb − C_ab²); differentiated twice
  // (∂f/∂C_ab = (π − θ)/(2π), ∂f/∂C_aa = D/(4π C_aa)).
  const double a = Caa, b = Cbb, c = Cab;
  const double D = std::sqrt(a * b - c * c);
  if (!(D > 0.0))
    throw NumericalError("ReLU pair-map Hessian: C_aa C_bb − C_ab² = " +
                         std::to_string(a * b - c * c) +
                         ": the map is not twice differentiable at perfectly correlated inputs");
  H(aa, aa) = (2.0 * c * c - a * b) / (8.0 * kPi * a * a * D);
  H(bb, bb) = (2.0 * c * c - a * b) / (8.0 * kPi * b * b * D);
  H(aa, bb) = H(bb, aa) = 1.0 / (8.0 * kPi * D);
  H(aa, ab) = H(ab, aa) = -c / (4.0 * kPi * a * D);
  H(bb, ab) = H(ab, bb) = -c / (4.0 * kPi * b * D);
  H(ab, ab) = 1.0 / (2.0 * kPi * D);
  return H;
}

// pair_expectation_hessian for tanh, by 2-D Gauss–Hermite quadrature.
Eigen::Matrix3d tanh_pair_hessian(core::Activation activation, double Caa, double Cbb, double Cab,
                                  double tolerance) {
  Eigen::Matrix3d H = Eigen::Matrix3d::Zero();
  // Price's theorem (THEORY.md §9.1): each C_aa derivative is ½∂²_a, the C_ab
  // derivative is ∂_a∂_b. One pass over the 2-D rule (Cholesky with h_a first) gives
  // all five expectations, with one activation call per node.
  const GaussHermiteRule rule = gauss_hermite_rule(pair_quadrature_nodes(
      activation, std::max(Caa, Cbb), tolerance, {{4, 0}, {2, 2}, {3, 1}}));
  const double ra = std::sqrt(std::max(Caa, 0.0));
  const double rba = ra > 0.0 ? Cab / ra : 0.0;
  const double rbb = std::sqrt(std::max(Cbb - rba * rba, 0.0));
  double e40 = 0.0, e04 = 0.0, e22 = 0.0, e31 = 0.0, e13 = 0.0;
  for (Eigen::Index i = 0; i < rule.nodes.size(); ++i) {
    const std::array<double, 5> da = derivatives_up_to_4(activation, ra * rule.nodes(i));
    double s40 = 0.0, s04 = 0.0, s22 = 0.0, s31 = 0.0, s13 = 0.0;
    for (Eigen::Index j = 0; j < rule.nodes.size(); ++j) {
      const std::array<double, 5> db = derivatives_up_to_4(activation, rba * rule.nodes(i) + rbb * rule.nodes(j));
      const double w = rule.weights(j);
      s40 += w * db[0];
      s04 += w * db[4];
      s22 += w * db[2];
      s31 += w * db[1];
      s13 += w * db[3];
    }
    const double w = rule.weights(i);
    e40 += w * da[4] * s40;
    e04 += w * da[0] * s04;
    e22 += w * da[2] * s22;
    e31 += w * da[3] * s31;
    e13 += w * da[1] * s13;
  }
  H(aa, aa) = 0.25 * e40;
  H(bb, bb) = 0.25 * e04;
  H(aa, bb) = H(bb, aa) = 0.25 * e22;
  H(aa, ab) = H(ab, aa) = 0.5 * e31;
  H(bb, ab) = H(ab, bb) = 0.5 * e13;
  H(ab, ab) = e22;
  return H;
}

}  // namespace

Eigen::Matrix3d pair_expectation_hessian(core::Activation activation, double Caa, double Cbb,
                                         double Cab, double tolerance) {
  switch (activation) {
    case Activation::linear: return Eigen::Matrix3d::Zero();
    case Activation::erf: return erf_pair_hessian(Caa, Cbb, Cab);
    case Activation::relu: return relu_pair_hessian(Caa, Cbb, Cab);
    case Activation::tanh: return tanh_pair_hessian(activation, Caa, Cbb, Cab, tolerance);
  }
  return Eigen::Matrix3d::Zero();
}

double diagonal_expectation_second_derivative(core::Activation activation, double q,
                                              double tolerance) {
  switch (activation) {
    case Activation::linear:
    case Activation::relu: return 0.0;  // ⟨φ²⟩ = q and q/2
    case Activation::erf:
      // d/dq of (4/π)(1+2q)^{-1}(1+4q)^{-1/2} (THEORY.md §2, diagonal special cases).
      return -(8.0 / kPi) / ((1.0 + 2.0 * q) * std::sqrt(1.0 + 4.0 * q)) *
             (1.0 / (1.0 + 2.0 * q) + 1.0 / (1.0 + 4.0 * q));
    case Activation::tanh: {
      // ¼⟨(φ²)''''⟩ = ½⟨φφ''''⟩ + 2⟨φ'φ'''⟩ + (3/2)⟨φ''²⟩ (Leibniz).
      const GaussHermiteRule rule = gauss_hermite_rule(
          pair_quadrature_nodes(activation, q, tolerance, {{0, 4}, {1, 3}, {2, 2}}));
      return 0.5 * diagonal_quadrature(activation, 0, 4, q, rule) +
             2.0 * diagonal_quadrature(activation, 1, 3, q, rule) +
             1.5 * diagonal_quadrature(activation, 2, 2, q, rule);
    }
  }
  return 0.0;
}

}  // namespace kernelmc::theory
