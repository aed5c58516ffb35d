#include "theory/fb_solver.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <unsupported/Eigen/IterativeSolvers>
#include <vector>

#include "core/error.hpp"
#include "theory/detail/messages.hpp"
#include "theory/detail/parallel_for.hpp"
#include "theory/gp_likelihood.hpp"
#include "theory/nngp.hpp"

namespace kernelmc::theory {
namespace {
class NewtonOperator;
}  // namespace
}  // namespace kernelmc::theory

// Eigen's "matrix-free solvers" pattern: the operator looks like a SparseMatrix to the
// iterative solvers, and the product below applies it.
namespace Eigen::internal {
template <>
struct traits<kernelmc::theory::NewtonOperator> : public traits<Eigen::SparseMatrix<double>> {};
}  // namespace Eigen::internal

namespace kernelmc::theory {
namespace {

// The matrix-free operator v ↦ (I − DF)v of the Newton–Krylov step, in the form that
// Eigen's GMRES (unsupported/Eigen/IterativeSolvers) accepts.
class NewtonOperator : public Eigen::EigenBase<NewtonOperator> {
 public:
  using Scalar = double;
  using RealScalar = double;
  using StorageIndex = int;
  enum { ColsAtCompileTime = Eigen::Dynamic, MaxColsAtCompileTime = Eigen::Dynamic, IsRowMajor = false };

  NewtonOperator(Eigen::Index size, std::function<Eigen::VectorXd(const Eigen::VectorXd&)> apply)
      : size_(size), apply_(std::move(apply)) {}
  Eigen::Index rows() const { return size_; }
  Eigen::Index cols() const { return size_; }
  Eigen::VectorXd apply(const Eigen::VectorXd& v) const { return apply_(v); }

  template <typename Rhs>
  Eigen::Product<NewtonOperator, Rhs, Eigen::AliasFreeProduct> operator*(
      const Eigen::MatrixBase<Rhs>& x) const {
    return Eigen::Product<NewtonOperator, Rhs, Eigen::AliasFreeProduct>(*this, x.derived());
  }

 private:
  Eigen::Index size_;
  std::function<Eigen::VectorXd(const Eigen::VectorXd&)> apply_;
};

}  // namespace
}  // namespace kernelmc::theory

namespace Eigen::internal {
template <typename Rhs>
struct generic_product_impl<kernelmc::theory::NewtonOperator, Rhs, SparseShape, DenseShape, GemvProduct>
    : generic_product_impl_base<kernelmc::theory::NewtonOperator, Rhs,
                                generic_product_impl<kernelmc::theory::NewtonOperator, Rhs>> {
  using Scalar = typename Product<kernelmc::theory::NewtonOperator, Rhs>::Scalar;
  template <typename Dest>
  static void scaleAndAddTo(Dest& dst, const kernelmc::theory::NewtonOperator& lhs, const Rhs& rhs,
                            const Scalar& alpha) {
    dst.noalias() += alpha * lhs.apply(Eigen::VectorXd(rhs));
  }
};
}  // namespace Eigen::internal

namespace kernelmc::theory {
namespace {

using core::Activation;
using core::KernelStack;
using detail::config_fail;
using detail::format_number;
using detail::residual_history_text;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A kernel counts as positive semidefinite while its lowest eigenvalue is above
// −kPsdTolerance · max|C| (rounding of a singular kernel, e.g. rank ≤ d).
constexpr double kPsdTolerance = 1e-10;
// A fixed-point residual above this is divergence: the attempt stops early.
constexpr double kDivergedResidual = 1e3;
// Homotopy: first λ step, and the step below which it gives up.
constexpr double kFirstHomotopyStep = 0.25;
constexpr double kSmallestHomotopyStep = 1.0 / 1024.0;
// Newton–Krylov: relative GMRES tolerance, and halvings of a step that does not reduce
// the residual (backtracking line search).
constexpr double kGmresTolerance = 1e-10;
constexpr int kMaxStepHalvings = 10;

Eigen::MatrixXd symmetrised(const Eigen::Ref<const Eigen::MatrixXd>& M) {
  return 0.5 * (M + M.transpose());
}

// The lowest eigenvalue relative to max|C|, or 0 when a Cholesky factor exists.
double relative_lowest_eigenvalue(const Eigen::MatrixXd& C) {
  if (Eigen::LLT<Eigen::MatrixXd>(C).info() == Eigen::Success) return 0.0;
  const double lowest =
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(C, Eigen::EigenvaluesOnly).eigenvalues()(0);
  return lowest / std::max(C.cwiseAbs().maxCoeff(), std::numeric_limits<double>::min());
}

// Everything fixed for one solve: the model, C^(1), Y and the point sets per layer.
struct Problem {
  const core::ModelSpec* spec = nullptr;
  Eigen::MatrixXd input_kernel;  // C^(1)
  Eigen::MatrixXd targets;       // Y, P×D
  TiltMethod method = TiltMethod::quadrature;
  PointEstimateOptions options;
  FbSettings settings;
  // Point methods: the factor R of h = R z for the measure of layer l at index l − 1, chosen
  // once per solve from the start kernels (choose_covariance_roots), and the factor of the
  // fixed C^(1), formed once for every sweep, re-solve and batch.
  std::vector<CovarianceRootKind> root_kinds;
  std::optional<CovarianceFactor> input_factor;
};

// Point sets of layer l at index l − 1 (the measure q_l); unused for the analytic methods.
using LayerPoints = std::vector<const GaussianPoints*>;

// One sweep of the FB map at the kernels C (THEORY.md §4.5): the output tilt from
// C^(L+1), then for l = L+1..2 the measure q_l(C^(l−1), C̃^(l)), giving C_new^(l) by (F)
// and C̃^(l−1) by (B).
struct Evaluation {
  KernelStack next;
  KernelStack tilts;
  std::vector<double> effective_sample_size;
  std::string failure;  // empty on success
};

TiltedExpectations tilted_at(const Problem& pb, const LayerPoints& points, Eigen::Index l,
                             const Eigen::MatrixXd& C, const Eigen::MatrixXd& tilt, bool gradient) {
  const double g = pb.spec->g(l);
  switch (pb.method) {
    case TiltMethod::linear_closed_form: return linear_tilted_expectations(g, C, tilt);
    case TiltMethod::first_order:
      return first_order_tilted_expectations(pb.spec->activation, g, C, tilt, pb.options.pair_tolerance,
                                             pb.options.four_point_nodes);
    case TiltMethod::automatic:
    case TiltMethod::quadrature:
    case TiltMethod::importance_sampling: break;
  }
  PointEstimateOptions options = pb.options;
  options.gradient = gradient;
  options.root = pb.root_kinds[static_cast<std::size_t>(l - 1)];
  const GaussianPoints& layer_points = *points[static_cast<std::size_t>(l - 1)];
  if (l == 2 && pb.input_factor)
    return point_set_tilted_expectations(pb.spec->activation, g, C, tilt, layer_points, options, *pb.input_factor);
  return point_set_tilted_expectations(pb.spec->activation, g, C, tilt, layer_points, options);
}

// (B) at the boundary: C̃^(L+1) = (A λ²YYᵀA − D·A)/(2N_L), A = (C^(L+1) + κI)⁻¹
// (theory/gp_likelihood); nullopt when C^(L+1) + κI is not positive definite.
std::optional<Eigen::MatrixXd> output_tilt(const Problem& pb, const Eigen::MatrixXd& top_kernel, double lambda) {
  const std::optional<Eigen::LLT<Eigen::MatrixXd>> llt =
      try_regularised_cholesky(top_kernel, top_kernel.rows(), pb.spec->kappa);
  if (!llt) return std::nullopt;
  const Eigen::MatrixXd A = regularised_inverse(*llt);
  const Eigen::MatrixXd AY = lambda * (A * pb.targets);
  const double D = static_cast<double>(pb.targets.cols());
  return Eigen::MatrixXd(symmetrised(AY * AY.transpose() - D * A) /
                         (2.0 * static_cast<double>(pb.spec->width(pb.spec->depth()))));
}

// (F): C^(l) = σ_b² 𝟏𝟏ᵀ + g_l ⟨φφᵀ⟩_{q_l}, from the expectations t under q_l.
Eigen::MatrixXd forward_kernel(const Problem& pb, Eigen::Index l, const TiltedExpectations& t) {
  const Eigen::Index P = t.second_moment.rows();
  return Eigen::MatrixXd::Constant(P, P, pb.spec->bias_variance) + pb.spec->g(l) * symmetrised(t.second_moment);
}

// (B), layer l from l+1: C̃^(l) = (N_l/N_{l−1}) ∂𝒲_{l+1}/∂C^(l), from the expectations
// t_next under q_{l+1}.
Eigen::MatrixXd backward_tilt(const Problem& pb, Eigen::Index l, const TiltedExpectations& t_next) {
  return (static_cast<double>(pb.spec->width(l)) / static_cast<double>(pb.spec->width(l - 1))) *
         symmetrised(t_next.gradient);
}

Evaluation fb_sweep(const Problem& pb, const LayerPoints& points, const KernelStack& C, double lambda) {
  const core::ModelSpec& spec = *pb.spec;
  const Eigen::Index L = spec.depth();
  Evaluation ev;
  ev.next = C;
  ev.tilts = core::zero_kernel_stack(L + 1, pb.input_kernel.rows());
  ev.effective_sample_size.assign(static_cast<std::size_t>(L + 1), kNaN);
  std::optional<Eigen::MatrixXd> top_tilt = output_tilt(pb, C.layer(L + 1), lambda);
  if (!top_tilt) {
    ev.failure = "C^(" + std::to_string(L + 1) + ") + kappa I is not positive definite";
    return ev;
  }
  ev.tilts.layer(L + 1) = std::move(*top_tilt);
  for (Eigen::Index l = L + 1; l >= 2; --l) {
    const Eigen::MatrixXd& C_prev = C.layer(l - 1);
    const Eigen::MatrixXd& tilt = ev.tilts.layer(l);
    if (pb.method == TiltMethod::linear_closed_form && !linear_tilt_normalisable(spec.g(l), C_prev, tilt)) {
      ev.failure = "the tilted measure of layer " + std::to_string(l) + " is not normalisable";
      return ev;
    }
    const TiltedExpectations t = tilted_at(pb, points, l, C_prev, tilt, l >= 3);
    ev.next.layer(l) = forward_kernel(pb, l, t);
    if (l >= 3) ev.tilts.layer(l - 1) = backward_tilt(pb, l - 1, t);
    ev.effective_sample_size[static_cast<std::size_t>(l - 1)] = t.effective_sample_size;
  }
  return ev;
}

// max_l max|a^(l) − b^(l)| / max_l max|b^(l)| over l = 2..L+1.
double relative_change(const KernelStack& a, const KernelStack& b) {
  double change = 0.0, scale = 0.0;
  for (Eigen::Index l = 2; l <= b.top_layer(); ++l) {
    change = std::max(change, (a.layer(l) - b.layer(l)).cwiseAbs().maxCoeff());
    scale = std::max(scale, b.layer(l).cwiseAbs().maxCoeff());
  }
  return change / scale;
}

// A failing layer (not PSD) of an iterate, or 0.
Eigen::Index first_indefinite_layer(const KernelStack& C) {
  for (Eigen::Index l = 2; l <= C.top_layer(); ++l)
    if (relative_lowest_eigenvalue(C.layer(l)) < -kPsdTolerance) return l;
  return 0;
}

// One solve at fixed λ from a starting point; failure is data (STYLE.md §4), so that
// the homotopy can react to it.
struct Attempt {
  bool converged = false;
  std::string failure;
  KernelStack kernels;
  KernelStack tilts;
  std::vector<double> effective_sample_size;
  std::vector<double> history;
  int iterations = 0;
};

// Records the residual of one sweep or step; true when the attempt ends here, converged
// (the evaluation's kernels and tilts become the result) or with a non-finite residual.
bool record_residual(Attempt& out, const Evaluation& ev, double residual, double tolerance,
                     const std::string& step) {
  out.history.push_back(residual);
  if (!std::isfinite(residual)) {
    out.failure = "non-finite kernel at " + step;
    return true;
  }
  if (residual > tolerance) return false;
  out.converged = true;
  out.kernels = ev.next;
  out.tilts = ev.tilts;
  out.effective_sample_size = ev.effective_sample_size;
  return true;
}

Attempt fixed_point(const Problem& pb, const LayerPoints& points, const KernelStack& start, double lambda) {
  const FbSettings& s = pb.settings;
  Attempt out;
  KernelStack C = start;
  for (int it = 1; it <= s.max_iterations; ++it) {
    out.iterations = it;
    const Evaluation ev = fb_sweep(pb, points, C, lambda);
    if (!ev.failure.empty()) {
      out.failure = ev.failure + " at iteration " + std::to_string(it);
      return out;
    }
    const double residual = relative_change(ev.next, C);
    if (record_residual(out, ev, residual, s.tolerance, "iteration " + std::to_string(it))) return out;
    if (residual > kDivergedResidual) {
      out.failure = "diverged at iteration " + std::to_string(it) + ", residual " + format_number(residual);
      return out;
    }
    for (Eigen::Index l = 2; l <= C.top_layer(); ++l)
      C.layer(l) = symmetrised((1.0 - s.damping) * C.layer(l) + s.damping * ev.next.layer(l));
    if (const Eigen::Index bad = first_indefinite_layer(C)) {
      out.failure = "C^(" + std::to_string(bad) + ") is not positive semidefinite at iteration " +
                    std::to_string(it);
      return out;
    }
  }
  out.failure = "no convergence after " + std::to_string(s.max_iterations) + " iterations, residual " +
                format_number(out.history.back()) + " > theory.fb.tolerance " + format_number(s.tolerance);
  return out;
}

// Upper triangles of C^(2..L+1), stacked: the unknowns of the Newton solve.
Eigen::VectorXd pack(const KernelStack& C) {
  const Eigen::Index P = C.layer(1).rows();
  const Eigen::Index K = core::triangle_size(P);
  Eigen::VectorXd x((C.top_layer() - 1) * K);
  for (Eigen::Index l = 2; l <= C.top_layer(); ++l) x.segment((l - 2) * K, K) = core::upper_triangle(C.layer(l));
  return x;
}

KernelStack unpack(const Eigen::VectorXd& x, const KernelStack& like) {
  KernelStack C = like;
  const Eigen::Index P = C.layer(1).rows();
  const Eigen::Index K = core::triangle_size(P);
  for (Eigen::Index l = 2; l <= C.top_layer(); ++l)
    C.layer(l) = core::from_upper_triangle(x.segment((l - 2) * K, K), P);
  return C;
}

// The Newton direction δ of (I − DF)δ = −r at x (F(x) = Fx) by GMRES with
// (I − DF)v ≈ v − [F(x + εv) − F(x)]/ε; nullopt when an evaluation or the solve fails.
std::optional<Eigen::VectorXd> newton_direction(const Problem& pb, const LayerPoints& points, const KernelStack& like,
                                                const Eigen::VectorXd& x, const Eigen::VectorXd& Fx,
                                                const Eigen::VectorXd& r, double lambda) {
  const double scale = x.cwiseAbs().maxCoeff();
  bool operator_failed = false;
  const NewtonOperator op(x.size(), [&](const Eigen::VectorXd& v) -> Eigen::VectorXd {
    const double norm = v.cwiseAbs().maxCoeff();
    if (norm == 0.0) return Eigen::VectorXd::Zero(v.size());
    // ε = √(machine ε)·(1 + max|x|)/max|v|: the usual balance of truncation and rounding.
    const double eps = std::sqrt(std::numeric_limits<double>::epsilon()) * (1.0 + scale) / norm;
    const Evaluation shifted = fb_sweep(pb, points, unpack(x + eps * v, like), lambda);
    if (!shifted.failure.empty()) {
      operator_failed = true;
      return v;
    }
    return v - (pack(shifted.next) - Fx) / eps;
  });
  Eigen::GMRES<NewtonOperator, Eigen::IdentityPreconditioner> gmres;
  gmres.setTolerance(kGmresTolerance);
  gmres.setMaxIterations(std::max<Eigen::Index>(x.size(), 10));
  gmres.set_restart(std::min<Eigen::Index>(x.size(), 50));
  gmres.compute(op);
  Eigen::VectorXd delta = gmres.solve(Eigen::VectorXd(-r));
  if (operator_failed || !delta.allFinite()) return std::nullopt;
  return delta;
}

// Backtracking: halve the step until the residual falls below `residual`; on success x and
// ev move to the accepted point. Near the rounding floor of the map the finite-difference
// step stops paying: then one damped fixed-point sweep instead, which contracts to that floor.
void newton_step(const Problem& pb, const LayerPoints& points, const KernelStack& like, const Eigen::VectorXd& delta,
                 double residual, double lambda, Eigen::VectorXd& x, Evaluation& ev) {
  double t = 1.0;
  for (int h = 0; h <= kMaxStepHalvings; ++h, t *= 0.5) {
    const Eigen::VectorXd trial = x + t * delta;
    const KernelStack C_trial = unpack(trial, like);
    if (first_indefinite_layer(C_trial)) continue;
    Evaluation trial_ev = fb_sweep(pb, points, C_trial, lambda);
    if (!trial_ev.failure.empty()) continue;
    const double trial_residual =
        (trial - pack(trial_ev.next)).cwiseAbs().maxCoeff() / trial.cwiseAbs().maxCoeff();
    if (std::isfinite(trial_residual) && trial_residual < residual) {
      x = trial;
      ev = std::move(trial_ev);
      return;
    }
  }
  const KernelStack C = unpack(x, like);
  KernelStack damped = C;
  for (Eigen::Index l = 2; l <= C.top_layer(); ++l)
    damped.layer(l) = symmetrised((1.0 - pb.settings.damping) * C.layer(l) + pb.settings.damping * ev.next.layer(l));
  x = pack(damped);
  ev = fb_sweep(pb, points, damped, lambda);
}

// Jacobian-free Newton–Krylov on R(C) = C − FB(C) (THEORY.md §4.5): a GMRES direction,
// then a backtracking step.
Attempt newton_krylov(const Problem& pb, const LayerPoints& points, const KernelStack& start, double lambda) {
  const FbSettings& s = pb.settings;
  Attempt out;
  Eigen::VectorXd x = pack(start);
  Evaluation ev = fb_sweep(pb, points, start, lambda);
  for (int it = 1; it <= s.max_iterations; ++it) {
    out.iterations = it;
    if (!ev.failure.empty()) {
      out.failure = ev.failure + " at Newton step " + std::to_string(it);
      return out;
    }
    const Eigen::VectorXd Fx = pack(ev.next);
    const Eigen::VectorXd r = x - Fx;
    const double residual = r.cwiseAbs().maxCoeff() / x.cwiseAbs().maxCoeff();
    if (record_residual(out, ev, residual, s.tolerance, "Newton step " + std::to_string(it))) return out;
    const std::optional<Eigen::VectorXd> delta = newton_direction(pb, points, start, x, Fx, r, lambda);
    if (!delta) {
      out.failure = "the Newton–Krylov linear solve failed at step " + std::to_string(it);
      return out;
    }
    newton_step(pb, points, start, *delta, residual, lambda, x, ev);
  }
  out.failure = "no convergence after " + std::to_string(s.max_iterations) + " Newton steps, residual " +
                format_number(out.history.back()) + " > theory.fb.tolerance " + format_number(s.tolerance);
  return out;
}

Attempt attempt(const Problem& pb, const LayerPoints& points, const KernelStack& start, double lambda) {
  return pb.settings.newton ? newton_krylov(pb, points, start, lambda)
                            : fixed_point(pb, points, start, lambda);
}

[[noreturn]] void fail_solve(const std::string& what, const Attempt& a) {
  throw NumericalError("fb_solver: " + what + a.failure + "; residual history: " + residual_history_text(a.history));
}

void check_fits(const core::ModelSpec& spec, Eigen::Index P, const FbSettings& s, TiltMethod method) {
  const std::string name(tilt_method_name(method));
  if (method == TiltMethod::linear_closed_form && spec.activation != Activation::linear)
    config_fail("theory.fb.method", name,
                "needs model.activation = linear, got " + std::string(core::activation_name(spec.activation)));
  if (method == TiltMethod::quadrature && P > kMaxQuadraturePoints)
    config_fail("theory.fb.method", name,
                "the tensor rule needs P <= " + std::to_string(kMaxQuadraturePoints) + ", P = " + std::to_string(P));
  const bool nonlinear = spec.activation != Activation::linear;
  if (nonlinear && P > kMaxExactFirstOrderPoints) {
    if (method == TiltMethod::first_order)
      config_fail("theory.fb.method", name,
                  "needs P <= " + std::to_string(kMaxExactFirstOrderPoints) + " for a non-linear activation, P = " +
                      std::to_string(P));
    if (s.exact_first_order && (method == TiltMethod::quadrature || method == TiltMethod::importance_sampling))
      config_fail("theory.fb.exact_first_order", "true",
                  "needs P <= " + std::to_string(kMaxExactFirstOrderPoints) +
                      " for a non-linear activation (K×K 4-point functions), P = " + std::to_string(P) +
                      "; set it to false");
  }
  if (s.gradient_form == TiltGradientForm::price && spec.activation == Activation::relu)
    config_fail("theory.fb.gradient_form", "price",
                "φ = relu has a distributional φ'' that pointwise evaluation misses; use score or automatic");
}

// The solve with homotopy in λ (THEORY.md §4.5): plain first; if that fails, λ steps
// from 0 to 1, each solve starting at the previous λ's solution, the step doubled after
// a success and halved after a failure.
Attempt solve_with_homotopy(const Problem& pb, const LayerPoints& points, const KernelStack& start,
                            std::vector<double>& lambdas) {
  const Attempt plain = attempt(pb, points, start, 1.0);
  if (plain.converged || !pb.settings.homotopy) {
    if (!plain.converged) fail_solve("", plain);
    return plain;
  }
  double done = 0.0;
  double step = kFirstHomotopyStep;
  KernelStack current = start;
  Attempt last;
  while (done < 1.0) {
    const double lambda = std::min(1.0, done + step);
    Attempt a = attempt(pb, points, current, lambda);
    if (a.converged) {
      done = lambda;
      current = a.kernels;
      lambdas.push_back(lambda);
      step *= 2.0;
      last = std::move(a);
      continue;
    }
    step *= 0.5;
    if (step < kSmallestHomotopyStep)
      throw NumericalError("fb_solver: " + plain.failure + "; residual history: " + residual_history_text(plain.history) +
                           "; homotopy in lambda stalled at lambda = " + format_number(done) + " (step < " +
                           format_number(kSmallestHomotopyStep) + "): " + a.failure +
                           "; residual history: " + residual_history_text(a.history));
  }
  return last;
}

// The point sets of every layer: one tensor rule shared by all layers, or the fixed base
// draws of each layer (`owned` keeps them alive); all null for the analytic methods.
LayerPoints make_point_sets(const Problem& pb, Eigen::Index P, std::vector<GaussianPoints>& owned) {
  const Eigen::Index L = pb.spec->depth();
  LayerPoints points(static_cast<std::size_t>(L + 1), nullptr);
  owned.clear();
  if (pb.method == TiltMethod::quadrature) {
    owned.push_back(tensor_gauss_hermite_points(P, pb.settings.quadrature_nodes));
    for (Eigen::Index l = 2; l <= L + 1; ++l) points[static_cast<std::size_t>(l - 1)] = &owned[0];
  } else if (pb.method == TiltMethod::importance_sampling) {
    owned.reserve(static_cast<std::size_t>(L));
    for (Eigen::Index l = 2; l <= L + 1; ++l) {
      owned.push_back(tilted_base_draws(pb.settings.seed, l, pb.settings.importance_samples, P));
      points[static_cast<std::size_t>(l - 1)] = &owned.back();
    }
  }
  return points;
}

Problem make_problem(const core::ModelSpec& spec, const core::Dataset& data, const FbSettings& settings) {
  Problem pb;
  pb.spec = &spec;
  pb.input_kernel = core::input_kernel(data.inputs, spec.g(1), spec.bias_variance);
  pb.targets = data.targets;
  pb.settings = settings;
  pb.method = choose_fb_route(spec, data.size(), settings).settings.method;
  pb.options = PointEstimateOptions{.gradient_form = settings.gradient_form,
                                    .exact_first_order = settings.exact_first_order,
                                    .pair_tolerance = settings.pair_tolerance};
  check_fits(spec, data.size(), settings, pb.method);
  return pb;
}

// The point methods' factor R of h = R z per layer (Problem::root_kinds), decided once from the
// start kernels so that no sweep switches between two factors (each right in distribution,
// but different draws h_s, which would stall the fixed point at the Monte Carlo error):
// importance sampling takes the Cholesky factor where the start kernel has one above the
// pivot floor, the symmetric root where it is singular to rounding (C^(1) of rank ≤ d); the
// quadrature rule keeps the symmetric root. The factor of C^(1) is formed here, once.
void choose_covariance_roots(Problem& pb, const KernelStack& start) {
  const Eigen::Index L = pb.spec->depth();
  pb.root_kinds.assign(static_cast<std::size_t>(L + 1), CovarianceRootKind::symmetric);
  if (pb.method != TiltMethod::importance_sampling && pb.method != TiltMethod::quadrature) return;
  if (pb.method == TiltMethod::importance_sampling)
    for (Eigen::Index l = 2; l <= L + 1; ++l)
      if (cholesky_factor_applies(start.layer(l - 1)))
        pb.root_kinds[static_cast<std::size_t>(l - 1)] = CovarianceRootKind::cholesky;
  // Layer 2 never needs the gradient (no C̃^(1)), so no inverse.
  pb.input_factor = covariance_factor(start.layer(1), pb.root_kinds[1], false);
}

// Throws NumericalError unless every C_FB^(l) is finite and positive semidefinite.
void check_solution(const KernelStack& kernels) {
  for (Eigen::Index l = 2; l <= kernels.top_layer(); ++l) {
    if (!kernels.layer(l).allFinite())
      throw NumericalError("fb_solver: C_FB^(" + std::to_string(l) + ") has a non-finite entry");
    const double lowest = relative_lowest_eigenvalue(kernels.layer(l));
    if (lowest < -kPsdTolerance)
      throw NumericalError("fb_solver: C_FB^(" + std::to_string(l) + ") has lowest eigenvalue " +
                           format_number(lowest) + " x max|C|: not positive semidefinite");
  }
}

// Adds |C_FB − C_other| entrywise, layer by layer.
void add_difference(KernelStack& errors, const KernelStack& kernels, const Attempt& other) {
  for (Eigen::Index l = 2; l <= kernels.top_layer(); ++l)
    errors.layer(l) += (kernels.layer(l) - other.kernels.layer(l)).cwiseAbs();
}

// The batch re-solves of the error estimate start at the main solution C* and stop when
// their residual has fallen by this factor from their first sweep's, r₀ = |F_b(C*) − C*|
// (relative), not at theory.fb.tolerance: each re-solve only has to cross the distance
// |C_b* − C*| ≈ r₀/|1 − λ| to its own fixed point, which is the batch spread the standard
// error is made of. Leaving a residual 1e-4·r₀ leaves at most cond(I − DF)·1e-4 of that
// distance, cond(I − DF) ≤ 2η/(1 − ρ) for a damped map contracting by ρ per sweep (≈ 2.5 at
// η = 0.5, ρ ≈ 0.6 as measured on erf at P = 256; 20 even at ρ = 0.95): the standard error
// moves by ≤ 0.2 %, against its own statistical spread of ≈ 1/√(2·19) = 16 % from 20
// batches, so the batch spread dominates the solve tolerance by a factor ≥ 80 in the SE
// (≥ 1e4 in the residual). The solve needs ≈ log(1e4)/log(1/ρ) ≈ 18 sweeps, against ≈ 44
// from r₀ ≈ 5e-3 (the spread of a 50-draw batch at P = 256) to theory.fb.tolerance = 1e-12.
constexpr double kBatchResolveReduction = 1e-4;

// One batch's re-solve, warm-started at the main solution `kernels` (kBatchResolveReduction).
Attempt batch_resolve(const Problem& pb, const LayerPoints& batch_points, const KernelStack& kernels) {
  const Evaluation first = fb_sweep(pb, batch_points, kernels, 1.0);
  if (!first.failure.empty()) {
    Attempt failed;
    failed.failure = first.failure + " at the first sweep";
    return failed;
  }
  Problem batch_pb = pb;
  batch_pb.settings.tolerance =
      std::max(pb.settings.tolerance, kBatchResolveReduction * relative_change(first.next, kernels));
  return attempt(batch_pb, batch_points, kernels, 1.0);
}

// Importance sampling: the batch standard error of C_FB from a re-solve on each batch of
// the draws (THEORY.md §4.4 item 4), added to `errors`.
void add_batch_standard_error(const Problem& pb, const std::vector<GaussianPoints>& owned,
                              const KernelStack& kernels, KernelStack& errors) {
  const Eigen::Index L = pb.spec->depth();
  const Eigen::Index P = pb.input_kernel.rows();
  const std::vector<Eigen::Index>& starts = owned[0].batch_starts;
  const Eigen::Index B = static_cast<Eigen::Index>(starts.size()) - 1;
  std::vector<Attempt> replicates(static_cast<std::size_t>(B));
  detail::parallel_for(B, [&](Eigen::Index b) {
    std::vector<GaussianPoints> batch;
    batch.reserve(owned.size());
    LayerPoints batch_points(static_cast<std::size_t>(L + 1), nullptr);
    for (Eigen::Index l = 2; l <= L + 1; ++l) {
      batch.push_back(point_subset(owned[static_cast<std::size_t>(l - 2)], starts[static_cast<std::size_t>(b)],
                                   starts[static_cast<std::size_t>(b + 1)]));
      batch_points[static_cast<std::size_t>(l - 1)] = &batch.back();
    }
    replicates[static_cast<std::size_t>(b)] = batch_resolve(pb, batch_points, kernels);
  });
  for (const Attempt& r : replicates)
    if (!r.converged) fail_solve("error estimate on one batch of the draws: ", r);
  const double n = static_cast<double>(B);
  for (Eigen::Index l = 2; l <= L + 1; ++l) {
    Eigen::MatrixXd mean = Eigen::MatrixXd::Zero(P, P);
    for (const Attempt& r : replicates) mean += r.kernels.layer(l) / n;
    Eigen::MatrixXd squares = Eigen::MatrixXd::Zero(P, P);
    for (const Attempt& r : replicates) squares += (r.kernels.layer(l) - mean).cwiseAbs2();
    errors.layer(l) += (squares / ((n - 1.0) * n)).cwiseSqrt();
  }
}

// The error of the solution (FbSolution::kernel_errors): solve again with a perturbed
// evaluation of the same map. The 4-point functions of tanh and ReLU come from a 4-D rule
// (first-order term), so those re-solves also drop it to the coarse node count.
KernelStack estimate_kernel_errors(const Problem& pb, const LayerPoints& points,
                                   const std::vector<GaussianPoints>& owned, const KernelStack& kernels) {
  const core::ModelSpec& spec = *pb.spec;
  const Eigen::Index P = pb.input_kernel.rows();
  KernelStack errors = core::zero_kernel_stack(spec.depth() + 1, P);
  if (!pb.settings.estimate_errors) return errors;
  const bool rule_four_point = spec.activation != Activation::linear && spec.activation != Activation::erf &&
                               (pb.method == TiltMethod::first_order || pb.settings.exact_first_order);
  Problem coarse_pb = pb;
  coarse_pb.options.four_point_nodes = coarse_quadrature_nodes(pb.options.four_point_nodes);
  if (pb.method == TiltMethod::quadrature) {
    const GaussianPoints coarse =
        tensor_gauss_hermite_points(P, coarse_quadrature_nodes(pb.settings.quadrature_nodes));
    const LayerPoints coarse_points(static_cast<std::size_t>(spec.depth() + 1), &coarse);
    const Attempt rough = attempt(coarse_pb, coarse_points, kernels, 1.0);
    if (!rough.converged) fail_solve("error estimate with the coarse rule: ", rough);
    add_difference(errors, kernels, rough);
    return errors;
  }
  if ((pb.method == TiltMethod::first_order || pb.method == TiltMethod::importance_sampling) && rule_four_point) {
    const Attempt rough = attempt(coarse_pb, points, kernels, 1.0);
    if (!rough.converged) fail_solve("error estimate with the coarse 4-point rule: ", rough);
    add_difference(errors, kernels, rough);
  }
  if (pb.method == TiltMethod::importance_sampling) add_batch_standard_error(pb, owned, kernels, errors);
  return errors;
}

}  // namespace

namespace {

// The importance-sampling part of choose_fb_route: exact_first_order and the draw count.
void choose_importance_sampling(const core::ModelSpec& spec, Eigen::Index P, FbRouteChoice& c) {
  FbSettings& s = c.settings;
  s.method = TiltMethod::importance_sampling;
  c.reason = "FB: importance sampling (automatic: P = " + std::to_string(P) + " > " +
             std::to_string(kMaxQuadraturePoints) + ")";
  if (s.exact_first_order && P > kMaxExactFirstOrderPoints) {
    s.exact_first_order = false;
    c.reason += "; exact_first_order off (needs P <= " + std::to_string(kMaxExactFirstOrderPoints) +
                " for a non-linear activation), so the draws estimate the whole tilt-induced change";
  } else if (s.exact_first_order && spec.activation != Activation::erf) {
    // tanh, ReLU: the first-order term comes from a 4-D Gauss–Hermite rule on every sweep
    // (measured: > 120 s for tanh, P = 8, L = 2, against 9 s without it).
    s.exact_first_order = false;
    c.reason += "; exact_first_order off (for " + std::string(core::activation_name(spec.activation)) +
                " its term needs a 4-D quadrature on every sweep), so the draws estimate the whole tilt-induced change";
  }
  const double per_draw = static_cast<double>(P * P) * static_cast<double>(spec.depth());
  const auto budget = static_cast<Eigen::Index>(kImportanceSamplingBudget / per_draw);
  const Eigen::Index floor_draws = 50 * core::kImportanceBatches;  // ≥ 50 draws per error batch
  const Eigen::Index capped = std::max(floor_draws, std::min(s.importance_samples, budget));
  if (capped < s.importance_samples) {
    c.reason += "; " + std::to_string(capped) + " draws per layer instead of theory.fb.importance_samples = " +
                std::to_string(s.importance_samples) + " (run-time budget S*P^2*L <= " +
                format_number(kImportanceSamplingBudget) + "; set theory.fb.method = importance_sampling to use the " +
                "configured count)";
    s.importance_samples = capped;
  } else {
    c.reason += ", " + std::to_string(s.importance_samples) + " draws per layer";
  }
}

}  // namespace

FbRouteChoice choose_fb_route(const core::ModelSpec& spec, Eigen::Index P, const FbSettings& given) {
  FbRouteChoice c{given, ""};
  if (given.method != TiltMethod::automatic) {
    c.reason = "FB: theory.fb.method = " + std::string(tilt_method_name(given.method)) + " as configured";
  } else if (spec.activation == Activation::linear) {
    c.settings.method = TiltMethod::linear_closed_form;
    c.reason = "FB: linear closed form (automatic: linear activation; exact evaluation of the FB equations)";
  } else if (P <= kMaxQuadraturePoints) {
    c.settings.method = TiltMethod::quadrature;
    c.reason = "FB: tensor Gauss-Hermite quadrature with " + std::to_string(given.quadrature_nodes) +
               " nodes per input (automatic: P = " + std::to_string(P) + " <= " +
               std::to_string(kMaxQuadraturePoints) + ")";
  } else {
    choose_importance_sampling(spec, P, c);
  }
  return c;
}

FbSolution solve_fb(const core::ModelSpec& spec, const core::Dataset& data, const FbSettings& settings) {
  validate(settings);
  core::check_fits(data, spec);
  const Eigen::Index L = spec.depth();
  Problem pb = make_problem(spec, data, settings);
  std::vector<GaussianPoints> owned;
  const LayerPoints points = make_point_sets(pb, data.size(), owned);

  FbSolution solution;
  solution.method = pb.method;
  solution.truncation_order = pb.method == TiltMethod::first_order ? 2 : 0;
  solution.nngp = nngp_kernels(spec, data.inputs, settings.pair_tolerance);
  choose_covariance_roots(pb, solution.nngp);
  const Attempt result = solve_with_homotopy(pb, points, solution.nngp, solution.homotopy_steps);
  solution.kernels = result.kernels;
  for (Eigen::Index l = 2; l <= L + 1; ++l) solution.kernels.layer(l) = symmetrised(solution.kernels.layer(l));
  solution.tilts = result.tilts;
  solution.iterations = result.iterations;
  solution.residual_history = result.history;
  solution.effective_sample_size = result.effective_sample_size;
  if (pb.method != TiltMethod::importance_sampling)
    std::fill(solution.effective_sample_size.begin(), solution.effective_sample_size.end(), kNaN);
  check_solution(solution.kernels);
  solution.kernel_errors = estimate_kernel_errors(pb, points, owned, solution.kernels);
  return solution;
}

}  // namespace kernelmc::theory
