#include "theory/tilted_expectations.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "theory/detail/messages.hpp"
#include "theory/four_point.hpp"
#include "theory/gauss_hermite.hpp"
#include "theory/gaussian_expectations.hpp"
#include "theory/jacobian_operators.hpp"

namespace kernelmc::theory {

namespace {

using core::Activation;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using detail::format_number;

// The symmetric square root R = C^{1/2} = V Λ^{1/2} Vᵀ (negative rounding eigenvalues
// clamped to 0). It is a continuous function of C on the positive semidefinite matrices
// and smooth where C is positive definite, so the map C ↦ {h_s = R z_s} of fixed points
// or draws (common random numbers) stays smooth across solver iterations, also for a
// singular C (the input kernel of rank ≤ d, or every kernel of a linear network on such
// inputs), where a Cholesky factor succeeds or fails from one iteration to the next.
CovarianceFactor symmetric_factor(const Eigen::Ref<const Eigen::MatrixXd>& C, bool with_inverse) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(0.5 * (C + C.transpose()));
  const Eigen::VectorXd lambda = eig.eigenvalues().cwiseMax(0.0);
  CovarianceFactor factor;
  factor.kind = CovarianceRootKind::symmetric;
  factor.root = eig.eigenvectors() * lambda.cwiseSqrt().asDiagonal() * eig.eigenvectors().transpose();
  const double largest = lambda.maxCoeff();
  factor.invertible = largest > 0.0 && eig.eigenvalues().minCoeff() > 1e-12 * largest;
  if (factor.invertible && with_inverse)
    factor.inverse = eig.eigenvectors() * lambda.cwiseSqrt().cwiseInverse().asDiagonal() *
                     eig.eigenvectors().transpose();
  return factor;
}

// The lower Cholesky factor L (C = LLᵀ), or nullopt unless every pivot L_aa² is above
// kCholeskyPivotFloor · max_a C_aa. ≈ P³/3 flops against ≈ 9P³ for the eigendecomposition
// of symmetric_factor; smooth in C where it exists, so common random numbers keep the FB
// map smooth as long as every iterate stays clear of the floor.
std::optional<CovarianceFactor> cholesky_factor(const Eigen::Ref<const Eigen::MatrixXd>& C, bool with_inverse) {
  const Eigen::LLT<Eigen::MatrixXd> llt(0.5 * (C + C.transpose()));
  if (llt.info() != Eigen::Success) return std::nullopt;
  const double largest = C.diagonal().maxCoeff();
  if (!(llt.matrixLLT().diagonal().cwiseAbs2().minCoeff() > kCholeskyPivotFloor * largest)) return std::nullopt;
  CovarianceFactor factor;
  factor.kind = CovarianceRootKind::cholesky;
  factor.root = llt.matrixL();
  factor.invertible = true;
  if (with_inverse) {
    factor.inverse = Eigen::MatrixXd::Identity(C.rows(), C.rows());
    llt.matrixL().solveInPlace(factor.inverse);
  }
  return factor;
}

Eigen::MatrixXd symmetrised(const Eigen::Ref<const Eigen::MatrixXd>& M) {
  return 0.5 * (M + M.transpose());
}

void check_exact_first_order(Activation activation, Eigen::Index P, std::string_view field) {
  if (activation != Activation::linear && P > kMaxExactFirstOrderPoints)
    throw ConfigError(std::string(field) + ": the exact first-order term of φ = " +
                      std::string(core::activation_name(activation)) + " needs P <= " +
                      std::to_string(kMaxExactFirstOrderPoints) + " (K×K 4-point functions), P = " +
                      std::to_string(P));
}

// g Q[C̃] = g Σ_cd Cov_C(φφᵀ, φ_cφ_d) C̃_cd (THEORY.md §4.4 item 2); Isserlis' Q[M] = 2CMC
// for linear φ, the K×K 4-point covariance of theory/four_point otherwise.
Eigen::MatrixXd first_order_moment_shift(Activation activation, double g,
                                         const Eigen::Ref<const Eigen::MatrixXd>& C,
                                         const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                         Eigen::Index four_point_nodes) {
  if (activation == Activation::linear) return symmetrised(2.0 * g * C * tilt * C);
  const Eigen::MatrixXd Q = product_covariance_quadrature(activation, C, four_point_nodes);
  return symmetrised(g * apply_triangle_covariance(Q, tilt));
}

// Whether theory/four_point's Q is exact for φ (linear: Isserlis; erf: sign moments),
// rather than a 4-D Gauss–Hermite rule with its own error.
bool exact_four_point(Activation activation) {
  return activation == Activation::linear || activation == Activation::erf;
}

// Jᵀ[C̃] at C (THEORY.md §3.4), the first-order (and untilted) value of ∂𝒲/∂C.
Eigen::MatrixXd first_order_gradient(Activation activation, double g,
                                     const Eigen::Ref<const Eigen::MatrixXd>& C,
                                     const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                     double pair_tolerance) {
  const JacobianOperator J{g, expected_dphi_dphi(activation, C, pair_tolerance),
                           expected_ddphi_phi(activation, C, pair_tolerance)};
  return symmetrised(apply_jacobian_adjoint(J, tilt));
}

TiltGradientForm resolve_form(Activation activation, TiltGradientForm form) {
  if (form == TiltGradientForm::automatic)
    return activation == Activation::relu ? TiltGradientForm::score : TiltGradientForm::price;
  if (form == TiltGradientForm::price && activation == Activation::relu)
    throw ConfigError(
        "theory.fb.gradient_form = price: φ = relu has a distributional φ'' that pointwise "
        "evaluation misses; use score or automatic");
  return form;
}

// φ''(H) from φ and φ' already evaluated: erf'' = −2x·erf', tanh'' = −2 tanh·tanh', 0 for
// linear and (pointwise) ReLU; saves one transcendental call per entry.
Eigen::MatrixXd second_derivative(Activation activation, const Eigen::MatrixXd& H,
                                  const Eigen::MatrixXd& phi, const Eigen::MatrixXd& dphi) {
  switch (activation) {
    case Activation::erf: return -2.0 * H.cwiseProduct(dphi);
    case Activation::tanh: return -2.0 * phi.cwiseProduct(dphi);
    case Activation::linear:
    case Activation::relu: break;
  }
  return Eigen::MatrixXd::Zero(H.rows(), H.cols());
}

// Everything the estimator needs per point, formed once for a point set.
struct PointValues {
  Eigen::MatrixXd phi;      // M×P, φ(h_s)ᵀ
  Eigen::MatrixXd dphi;     // φ'(h_s)ᵀ (Price form only)
  Eigen::MatrixXd ddphi;    // φ''(h_s)ᵀ (Price form only)
  Eigen::MatrixXd tilt_phi; // (C̃φ_s)ᵀ
  Eigen::VectorXd exponent; // F_s = g φ_sᵀC̃φ_s
};

// The untilted exact values shared by every point subset.
struct ExactTerms {
  Eigen::MatrixXd second_moment;  // ⟨φφᵀ⟩_C, plus g Q[C̃] with exact_first_order
  Eigen::MatrixXd gradient;       // Jᵀ[C̃] (Price always; score with exact_first_order), else 0
  Eigen::MatrixXd first_order_shift;  // g Q[C̃] on the 4-D rule (exact_first_order only), else empty
};

// The points' part of the estimator over rows [first, last) (their weights renormalised).
struct PointPart {
  Eigen::MatrixXd second_moment;
  Eigen::MatrixXd gradient;
  double effective_sample_size = 0.0;
};

// The score form needs C⁻¹: throws NumericalError when C is singular to rounding (the
// factor is not invertible).
void check_score_form_invertible(const CovarianceFactor& factor, const Eigen::Ref<const Eigen::MatrixXd>& C) {
  if (factor.invertible) return;
  throw NumericalError(
      "tilted expectations: the score form needs C positive definite, but C has an "
      "eigenvalue at rounding level (min eigenvalue " +
      format_number(Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(C, Eigen::EigenvaluesOnly).eigenvalues()(0)) +
      "); use gradient_form = price");
}

// The exact untilted terms of the control variate (THEORY.md §4.4 item 3).
ExactTerms exact_terms(Activation activation, double g, const Eigen::Ref<const Eigen::MatrixXd>& C,
                       const Eigen::Ref<const Eigen::MatrixXd>& tilt, const PointEstimateOptions& options,
                       TiltGradientForm form) {
  ExactTerms exact;
  exact.second_moment = expected_phi_phi(activation, C, options.pair_tolerance);
  if (options.exact_first_order) {
    exact.first_order_shift = first_order_moment_shift(activation, g, C, tilt, options.four_point_nodes);
    exact.second_moment += exact.first_order_shift;
  }
  if (options.gradient && (form == TiltGradientForm::price || options.exact_first_order))
    exact.gradient = first_order_gradient(activation, g, C, tilt, options.pair_tolerance);
  else
    exact.gradient = Eigen::MatrixXd::Zero(C.rows(), C.rows());
  return exact;
}

// The per-point values at h = R z, for every point at once (one M×P by P×P product).
PointValues point_values(Activation activation, double g, const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                         const GaussianPoints& points, const CovarianceFactor& factor, bool derivatives) {
  const Eigen::Index P = tilt.rows();
  Eigen::MatrixXd H(points.z.rows(), P);
  if (factor.kind == CovarianceRootKind::cholesky)
    H.noalias() = points.z * factor.root.transpose().triangularView<Eigen::Upper>();
  else
    H.noalias() = points.z * factor.root.transpose();
  PointValues values;
  values.phi.resize(H.rows(), P);
  core::apply_activation(activation, H, values.phi);
  if (derivatives) {
    values.dphi.resize(H.rows(), P);
    core::apply_activation_derivative(activation, H, values.dphi);
    values.ddphi = second_derivative(activation, H, values.phi, values.dphi);
  }
  values.tilt_phi.resize(H.rows(), P);
  values.tilt_phi.noalias() = values.phi * tilt;
  values.exponent = g * values.tilt_phi.cwiseProduct(values.phi).rowwise().sum();
  return values;
}

class PointEstimator {
 public:
  // `factor` is C's (covariance_factor), with its inverse where the score form needs it.
  PointEstimator(Activation activation, double g, const Eigen::Ref<const Eigen::MatrixXd>& C,
                 const Eigen::Ref<const Eigen::MatrixXd>& tilt, const GaussianPoints& points,
                 const PointEstimateOptions& options, const CovarianceFactor& factor)
      : g_(g), tilt_(tilt), points_(points), options_(options),
        form_(resolve_form(activation, options.gradient_form)), factor_(factor) {
    if (options.exact_first_order) check_exact_first_order(activation, C.rows(), "theory.fb.exact_first_order = true");
    const bool score = options.gradient && form_ == TiltGradientForm::score;
    if (score) check_score_form_invertible(factor, C);
    if (score && factor.inverse.size() == 0)
      throw DataError("tilted expectations: the score form needs the inverse of C's factor, formed without it");
    exact_ = exact_terms(activation, g, C, tilt, options, form_);
    values_ = point_values(activation, g, tilt, points, factor,
                           options.gradient && form_ == TiltGradientForm::price);
  }

  const ExactTerms& exact() const { return exact_; }

  // The estimate on the whole point set, without an error estimate.
  TiltedExpectations estimate() const;

  // THEORY.md §4.4: π̃ ∝ π e^F over the rows; d = π̃ − π is the (tilted − untilted)
  // difference, lin = π(F − F̄) the points' own first-order part of it.
  PointPart part(Eigen::Index first, Eigen::Index last) const {
    const Eigen::Index M = last - first;
    Eigen::VectorXd pi = points_.weights.segment(first, M);
    pi /= pi.sum();
    const Eigen::Ref<const Eigen::VectorXd> F = values_.exponent.segment(first, M);
    const Eigen::VectorXd e = (F.array() - F.maxCoeff()).exp().matrix();
    const Eigen::VectorXd pe = pi.cwiseProduct(e);
    const double Z = pe.sum();
    const Eigen::VectorXd tilted = pe / Z;
    const Eigen::VectorXd d = tilted - pi;
    const Eigen::VectorXd lin = pi.cwiseProduct((F.array() - pi.dot(F)).matrix());
    const Eigen::VectorXd t_moment = options_.exact_first_order ? Eigen::VectorXd(d - lin) : d;

    PointPart out;
    out.effective_sample_size = Z * Z / pi.cwiseProduct(pi).dot(e.cwiseProduct(e));
    const Eigen::Ref<const Eigen::MatrixXd> Phi = values_.phi.middleRows(first, M);
    out.second_moment.noalias() = Phi.transpose() * t_moment.asDiagonal() * Phi;
    out.second_moment = symmetrised(out.second_moment);

    const Eigen::Index P = Phi.cols();
    if (!options_.gradient) {
      out.gradient = Eigen::MatrixXd::Zero(P, P);
    } else if (form_ == TiltGradientForm::price) {
      // g[C̃ ∘ Σ d φ'φ'ᵀ + diag(Σ d φ''∘(C̃φ))] + 2g² Σ π̃ (φ'∘C̃φ)(φ'∘C̃φ)ᵀ.
      const Eigen::Ref<const Eigen::MatrixXd> D1 = values_.dphi.middleRows(first, M);
      const Eigen::Ref<const Eigen::MatrixXd> D2 = values_.ddphi.middleRows(first, M);
      const Eigen::Ref<const Eigen::MatrixXd> U = values_.tilt_phi.middleRows(first, M);
      Eigen::MatrixXd outer(P, P);
      outer.noalias() = D1.transpose() * d.asDiagonal() * D1;
      out.gradient = g_ * tilt_.cwiseProduct(outer);
      out.gradient.diagonal() += g_ * (D2.cwiseProduct(U).transpose() * d);
      const Eigen::MatrixXd V = D1.cwiseProduct(U);
      Eigen::MatrixXd second(P, P);
      second.noalias() = V.transpose() * tilted.asDiagonal() * V;
      out.gradient += 2.0 * g_ * g_ * second;
    } else {
      // ½ C⁻¹(Σ t hhᵀ)C⁻¹ = ½ R⁻ᵀ(Σ t zzᵀ)R⁻¹ with h = R z, C = RRᵀ.
      const Eigen::VectorXd t = options_.exact_first_order ? Eigen::VectorXd(d - lin) : d;
      const Eigen::Ref<const Eigen::MatrixXd> Z = points_.z.middleRows(first, M);
      Eigen::MatrixXd G(P, P);
      G.noalias() = Z.transpose() * t.asDiagonal() * Z;
      out.gradient = 0.5 * factor_.inverse.transpose() * G * factor_.inverse;
    }
    out.gradient = symmetrised(out.gradient);
    return out;
  }

 private:
  double g_;
  Eigen::MatrixXd tilt_;
  const GaussianPoints& points_;
  PointEstimateOptions options_;
  TiltGradientForm form_;
  const CovarianceFactor& factor_;
  ExactTerms exact_;
  PointValues values_;
};

TiltedExpectations combine(const ExactTerms& exact, const PointPart& part) {
  TiltedExpectations out;
  out.second_moment = exact.second_moment + part.second_moment;
  out.gradient = exact.gradient + part.gradient;
  const Eigen::Index P = out.second_moment.rows();
  out.second_moment_error = Eigen::MatrixXd::Zero(P, P);
  out.gradient_error = Eigen::MatrixXd::Zero(P, P);
  out.effective_sample_size = part.effective_sample_size;
  return out;
}

TiltedExpectations PointEstimator::estimate() const {
  return combine(exact_, part(0, points_.z.rows()));
}

// The quadrature error of the first-order term g Q[C̃] (THEORY.md §4.4 item 3): its change
// from the 4-D rule of `nodes` (where it is `shift`) to the coarse rule; zero where the
// four-point expectation is exact.
Eigen::MatrixXd first_order_shift_error(Activation activation, double g,
                                        const Eigen::Ref<const Eigen::MatrixXd>& C,
                                        const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                        Eigen::Index nodes, const Eigen::MatrixXd& shift) {
  if (exact_four_point(activation)) return Eigen::MatrixXd::Zero(C.rows(), C.rows());
  return (shift - first_order_moment_shift(activation, g, C, tilt, coarse_quadrature_nodes(nodes)))
      .cwiseAbs();
}

void check_measure(const Eigen::Ref<const Eigen::MatrixXd>& C,
                   const Eigen::Ref<const Eigen::MatrixXd>& tilt) {
  if (C.rows() != C.cols() || tilt.rows() != C.rows() || tilt.cols() != C.rows() || C.rows() == 0)
    throw DataError("tilted expectations: C is " + std::to_string(C.rows()) + "x" +
                    std::to_string(C.cols()) + " and the tilt " + std::to_string(tilt.rows()) + "x" +
                    std::to_string(tilt.cols()) + ": both must be the same non-empty square size");
  if (!C.allFinite() || !tilt.allFinite())
    throw NumericalError("tilted expectations: C or the tilt has a non-finite entry");
}

}  // namespace

GaussianPoints tensor_gauss_hermite_points(Eigen::Index dimension, Eigen::Index nodes) {
  const GaussHermiteRule rule = gauss_hermite_rule(nodes);
  Eigen::Index count = 1;
  for (Eigen::Index j = 0; j < dimension; ++j) count *= nodes;
  GaussianPoints points;
  points.z.resize(count, dimension);
  points.weights.resize(count);
  for (Eigen::Index i = 0; i < count; ++i) {
    Eigen::Index rest = i;
    double w = 1.0;
    for (Eigen::Index j = dimension - 1; j >= 0; --j) {
      const Eigen::Index k = rest % nodes;
      rest /= nodes;
      points.z(i, j) = rule.nodes(k);
      w *= rule.weights(k);
    }
    points.weights(i) = w;
  }
  return points;
}

GaussianPoints tilted_base_draws(std::uint64_t seed, Eigen::Index layer, Eigen::Index samples,
                                 Eigen::Index dimension) {
  if (samples < 2 * kImportanceBatches)
    throw ConfigError("theory.fb.importance_samples = " + std::to_string(samples) + ": must be >= " +
                      std::to_string(2 * kImportanceBatches) + " (" +
                      std::to_string(kImportanceBatches) + " batches of at least 2 draws)");
  core::Engine engine = core::make_stream(seed, core::StreamPurpose::tilted_mc, 0,
                                          static_cast<std::uint64_t>(layer));
  GaussianPoints draws;
  draws.z = core::standard_normal_matrix(engine, samples, dimension);
  draws.weights = Eigen::VectorXd::Constant(samples, 1.0 / static_cast<double>(samples));
  for (Eigen::Index b = 0; b <= kImportanceBatches; ++b)
    draws.batch_starts.push_back(b * samples / kImportanceBatches);
  return draws;
}

GaussianPoints point_subset(const GaussianPoints& points, Eigen::Index first, Eigen::Index last) {
  GaussianPoints out;
  out.z = points.z.middleRows(first, last - first);
  out.weights = points.weights.segment(first, last - first);
  out.weights /= out.weights.sum();
  if (!points.batch_starts.empty()) out.batch_starts = {0, last - first};  // draws stay draws (one batch)
  return out;
}

namespace {

// A factor R with C = RRᵀ for the linear layer's closed form: any such factor gives the same
// ⟨hhᵀ⟩_q and the same normalisability, so the Cholesky factor (≈ P³/3 flops) where its pivots
// are clear of the floor, else the eigen-root (≈ 9P³), which also covers a singular C.
Eigen::MatrixXd linear_layer_factor(const Eigen::Ref<const Eigen::MatrixXd>& C) {
  return covariance_factor(C, CovarianceRootKind::cholesky, false).root;
}

}  // namespace

bool linear_tilt_normalisable(double g, const Eigen::Ref<const Eigen::MatrixXd>& C,
                              const Eigen::Ref<const Eigen::MatrixXd>& tilt) {
  check_measure(C, tilt);
  const Eigen::Index P = C.rows();
  const Eigen::MatrixXd R = linear_layer_factor(C);
  const Eigen::MatrixXd T =
      Eigen::MatrixXd::Identity(P, P) - 2.0 * g * R.transpose() * tilt * R;
  return Eigen::LLT<Eigen::MatrixXd>(symmetrised(T)).info() == Eigen::Success;
}

TiltedExpectations linear_tilted_expectations(double g, const Eigen::Ref<const Eigen::MatrixXd>& C,
                                              const Eigen::Ref<const Eigen::MatrixXd>& tilt) {
  check_measure(C, tilt);
  const Eigen::Index P = C.rows();
  // THEORY.md §4.3, linear: q = N(0, (C⁻¹ − 2gC̃)⁻¹) on the range of C. With C = RRᵀ,
  // h = Rz and z ~ N(0, (I − 2gRᵀC̃R)⁻¹), so ⟨hhᵀ⟩_q = R(I − 2gRᵀC̃R)⁻¹Rᵀ.
  const Eigen::MatrixXd R = linear_layer_factor(C);
  const Eigen::MatrixXd T =
      Eigen::MatrixXd::Identity(P, P) - 2.0 * g * R.transpose() * tilt * R;
  const Eigen::LLT<Eigen::MatrixXd> llt(symmetrised(T));
  if (llt.info() != Eigen::Success)
    throw NumericalError("tilted expectations: I - 2g R^T C~ R is not positive definite (min eigenvalue " +
                         format_number(Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(
                                           symmetrised(T), Eigen::EigenvaluesOnly)
                                           .eigenvalues()(0)) +
                         "): the tilted measure of the linear layer is not normalisable");
  TiltedExpectations out;
  out.second_moment = symmetrised(R * llt.solve(R.transpose()));
  // ∂𝒲/∂C = gC̃(I − 2gCC̃)⁻¹ = gC̃ + 2g²C̃⟨hhᵀ⟩_qC̃ (push-through identity), the Price form
  // with φ' = 1, φ'' = 0.
  out.gradient = symmetrised(g * tilt + 2.0 * g * g * tilt * out.second_moment * tilt);
  out.second_moment_error = Eigen::MatrixXd::Zero(P, P);
  out.gradient_error = Eigen::MatrixXd::Zero(P, P);
  out.effective_sample_size = kNaN;
  return out;
}

TiltedExpectations first_order_tilted_expectations(core::Activation activation, double g,
                                                   const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                   const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                                   double pair_tolerance, Eigen::Index four_point_nodes) {
  check_measure(C, tilt);
  check_exact_first_order(activation, C.rows(), "theory.fb.method = first_order");
  TiltedExpectations out;
  const Eigen::MatrixXd shift = first_order_moment_shift(activation, g, C, tilt, four_point_nodes);
  out.second_moment = symmetrised(expected_phi_phi(activation, C, pair_tolerance)) + shift;
  out.gradient = first_order_gradient(activation, g, C, tilt, pair_tolerance);
  out.second_moment_error = first_order_shift_error(activation, g, C, tilt, four_point_nodes, shift);
  out.gradient_error = Eigen::MatrixXd::Zero(C.rows(), C.rows());
  out.effective_sample_size = kNaN;
  out.truncation_order = 2;
  return out;
}

CovarianceFactor covariance_factor(const Eigen::Ref<const Eigen::MatrixXd>& C, CovarianceRootKind kind,
                                   bool with_inverse) {
  if (kind != CovarianceRootKind::symmetric)
    if (std::optional<CovarianceFactor> factor = cholesky_factor(C, with_inverse)) return std::move(*factor);
  return symmetric_factor(C, with_inverse);
}

bool cholesky_factor_applies(const Eigen::Ref<const Eigen::MatrixXd>& C) {
  return cholesky_factor(C, false).has_value();
}

namespace {

// The root kind of a point set: automatic resolves to cholesky for draws, symmetric for a rule.
CovarianceRootKind resolved_root_kind(CovarianceRootKind kind, const GaussianPoints& points) {
  if (kind != CovarianceRootKind::automatic) return kind;
  return points.batch_starts.empty() ? CovarianceRootKind::symmetric : CovarianceRootKind::cholesky;
}

// Whether the factor's inverse is needed: the score-form gradient.
bool needs_factor_inverse(core::Activation activation, const PointEstimateOptions& options) {
  return options.gradient && resolve_form(activation, options.gradient_form) == TiltGradientForm::score;
}

}  // namespace

TiltedExpectations point_set_tilted_expectations(core::Activation activation, double g,
                                                 const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                 const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                                 const GaussianPoints& points,
                                                 const PointEstimateOptions& options) {
  check_measure(C, tilt);
  const CovarianceFactor factor = covariance_factor(C, resolved_root_kind(options.root, points),
                                                    needs_factor_inverse(activation, options));
  return PointEstimator(activation, g, C, tilt, points, options, factor).estimate();
}

TiltedExpectations point_set_tilted_expectations(core::Activation activation, double g,
                                                 const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                 const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                                 const GaussianPoints& points,
                                                 const PointEstimateOptions& options,
                                                 const CovarianceFactor& factor) {
  check_measure(C, tilt);
  if (factor.root.rows() != C.rows() || factor.root.cols() != C.cols())
    throw DataError("tilted expectations: the covariance factor is " + std::to_string(factor.root.rows()) + "x" +
                    std::to_string(factor.root.cols()) + ", C is " + std::to_string(C.rows()) + "x" +
                    std::to_string(C.cols()) + ": the factor must be C's (covariance_factor)");
  return PointEstimator(activation, g, C, tilt, points, options, factor).estimate();
}

Eigen::Index coarse_quadrature_nodes(Eigen::Index nodes) { return (2 * nodes + 2) / 3; }

TiltedExpectations quadrature_tilted_expectations(core::Activation activation, double g,
                                                  const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                  const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                                  Eigen::Index nodes,
                                                  const PointEstimateOptions& options) {
  check_measure(C, tilt);
  if (C.rows() > kMaxQuadraturePoints)
    throw ConfigError("theory.fb.method = quadrature: the tensor rule needs P <= " +
                      std::to_string(kMaxQuadraturePoints) + " (n^P nodes), P = " +
                      std::to_string(C.rows()));
  const Eigen::Index coarse = coarse_quadrature_nodes(nodes);
  TiltedExpectations fine = point_set_tilted_expectations(
      activation, g, C, tilt, tensor_gauss_hermite_points(C.rows(), nodes), options);
  PointEstimateOptions coarse_options = options;
  coarse_options.four_point_nodes = coarse_quadrature_nodes(options.four_point_nodes);
  const TiltedExpectations rough = point_set_tilted_expectations(
      activation, g, C, tilt, tensor_gauss_hermite_points(C.rows(), coarse), coarse_options);
  fine.second_moment_error = (fine.second_moment - rough.second_moment).cwiseAbs();
  fine.gradient_error = (fine.gradient - rough.gradient).cwiseAbs();
  fine.effective_sample_size = kNaN;
  return fine;
}

TiltedExpectations importance_sampling_tilted_expectations(core::Activation activation, double g,
                                                           const Eigen::Ref<const Eigen::MatrixXd>& C,
                                                           const Eigen::Ref<const Eigen::MatrixXd>& tilt,
                                                           const GaussianPoints& draws,
                                                           const PointEstimateOptions& options) {
  check_measure(C, tilt);
  if (draws.z.cols() != C.rows() || draws.batch_starts.size() < 3)
    throw DataError("importance sampling: the base draws have " + std::to_string(draws.z.cols()) +
                    " columns and " + std::to_string(draws.batch_starts.size()) +
                    " batch boundaries: need P = " + std::to_string(C.rows()) +
                    " columns and at least two batches (tilted_base_draws)");
  const CovarianceFactor factor = covariance_factor(C, resolved_root_kind(options.root, draws),
                                                    needs_factor_inverse(activation, options));
  const PointEstimator estimator(activation, g, C, tilt, draws, options, factor);
  TiltedExpectations out = estimator.estimate();
  // Standard error from the spread of the batch replicates of the points' part.
  const Eigen::Index P = C.rows();
  const Eigen::Index B = static_cast<Eigen::Index>(draws.batch_starts.size()) - 1;
  Eigen::MatrixXd sum_m = Eigen::MatrixXd::Zero(P, P), sum2_m = Eigen::MatrixXd::Zero(P, P);
  Eigen::MatrixXd sum_g = Eigen::MatrixXd::Zero(P, P), sum2_g = Eigen::MatrixXd::Zero(P, P);
  for (Eigen::Index b = 0; b < B; ++b) {
    const PointPart part = estimator.part(draws.batch_starts[static_cast<std::size_t>(b)],
                                          draws.batch_starts[static_cast<std::size_t>(b + 1)]);
    sum_m += part.second_moment;
    sum2_m += part.second_moment.cwiseAbs2();
    sum_g += part.gradient;
    sum2_g += part.gradient.cwiseAbs2();
  }
  const double n = static_cast<double>(B);
  auto standard_error = [n](const Eigen::MatrixXd& s, const Eigen::MatrixXd& s2) {
    const Eigen::MatrixXd variance = ((s2 - s.cwiseAbs2() / n) / (n - 1.0)).cwiseMax(0.0);
    return Eigen::MatrixXd((variance / n).cwiseSqrt());
  };
  out.second_moment_error = standard_error(sum_m, sum2_m);
  out.gradient_error = standard_error(sum_g, sum2_g);
  if (options.exact_first_order && !exact_four_point(activation)) {
    // The first-order term of tanh/ReLU comes from a 4-D rule: add its change on the coarse rule.
    out.second_moment_error += first_order_shift_error(activation, g, C, tilt, options.four_point_nodes,
                                                       estimator.exact().first_order_shift);
  }
  return out;
}

}  // namespace kernelmc::theory
