#include "theory/fb_solver.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <unsupported/Eigen/IterativeSolvers>
#include <vector>

#include "core/error.hpp"
#include "theory/detail/messages.hpp"
#include "theory/detail/parallel_for.hpp"
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
};

// Point sets of layer l at index l − 1 (the measure q_l); unused for the analytic methods.
using LayerPoints = std::vector<const GaussianPoints*>;

// One evaluation of the FB map at the kernels C (THEORY.md §4.5, one sweep): the output
// tilt from C^(L+1), then for l = L+1..2 the measure q_l(C^(l−1), C̃^(l)), giving
// C_new^(l) by (F) and C̃^(l−1) by (B).
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
  return point_set_tilted_expectations(pb.spec->activation, g, C, tilt,
                                       *points[static_cast<std::size_t>(l - 1)], options);
}

Evaluation evaluate(const Problem& pb, const LayerPoints& points, const KernelStack& C, double lambda) {
  const core::ModelSpec& spec = *pb.spec;
  const Eigen::Index L = spec.depth();
  const Eigen::Index P = pb.input_kernel.rows();
  const double D = static_cast<double>(pb.targets.cols());
  Evaluation ev;
  ev.next = C;
  ev.tilts = core::zero_kernel_stack(L + 1, P);
  ev.effective_sample_size.assign(static_cast<std::size_t>(L + 1), kNaN);

  // (B) boundary: C̃^(L+1) = (A λ²YYᵀA − D·A)/(2N_L), A = (C^(L+1) + κI)⁻¹.
  const Eigen::LLT<Eigen::MatrixXd> llt(C.layer(L + 1) + spec.kappa * Eigen::MatrixXd::Identity(P, P));
  if (llt.info() != Eigen::Success) {
    ev.failure = "C^(" + std::to_string(L + 1) + ") + kappa I is not positive definite";
    return ev;
  }
  const Eigen::MatrixXd A = llt.solve(Eigen::MatrixXd::Identity(P, P));
  const Eigen::MatrixXd AY = lambda * (A * pb.targets);
  ev.tilts.layer(L + 1) =
      symmetrised(AY * AY.transpose() - D * A) / (2.0 * static_cast<double>(spec.width(L)));

  const Eigen::MatrixXd bias = spec.bias_variance * Eigen::MatrixXd::Ones(P, P);
  for (Eigen::Index l = L + 1; l >= 2; --l) {
    const Eigen::MatrixXd& C_prev = C.layer(l - 1);
    const Eigen::MatrixXd& tilt = ev.tilts.layer(l);
    if (pb.method == TiltMethod::linear_closed_form && !linear_tilt_normalisable(spec.g(l), C_prev, tilt)) {
      ev.failure = "the tilted measure of layer " + std::to_string(l) + " is not normalisable";
      return ev;
    }
    const TiltedExpectations t = tilted_at(pb, points, l, C_prev, tilt, l >= 3);
    ev.next.layer(l) = bias + spec.g(l) * symmetrised(t.second_moment);
    if (l >= 3)
      ev.tilts.layer(l - 1) = (static_cast<double>(spec.width(l - 1)) /
                               static_cast<double>(spec.width(l - 2))) *
                              symmetrised(t.gradient);
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
    const Evaluation ev = evaluate(pb, points, C, lambda);
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

// Jacobian-free Newton–Krylov on R(C) = C − FB(C) (THEORY.md §4.5): (I − DF)δ = −R by
// GMRES with (I − DF)v ≈ v − [F(x + εv) − F(x)]/ε, then a backtracking step.
Attempt newton_krylov(const Problem& pb, const LayerPoints& points, const KernelStack& start, double lambda) {
  const FbSettings& s = pb.settings;
  Attempt out;
  Eigen::VectorXd x = pack(start);
  Evaluation ev = evaluate(pb, points, start, lambda);
  for (int it = 1; it <= s.max_iterations; ++it) {
    out.iterations = it;
    if (!ev.failure.empty()) {
      out.failure = ev.failure + " at Newton step " + std::to_string(it);
      return out;
    }
    const Eigen::VectorXd Fx = pack(ev.next);
    const Eigen::VectorXd r = x - Fx;
    const double scale = x.cwiseAbs().maxCoeff();
    const double residual = r.cwiseAbs().maxCoeff() / scale;
    if (record_residual(out, ev, residual, s.tolerance, "Newton step " + std::to_string(it))) return out;
    bool operator_failed = false;
    const NewtonOperator op(x.size(), [&](const Eigen::VectorXd& v) -> Eigen::VectorXd {
      const double norm = v.cwiseAbs().maxCoeff();
      if (norm == 0.0) return Eigen::VectorXd::Zero(v.size());
      // ε = √(machine ε)·(1 + max|x|)/max|v|: the usual balance of truncation and rounding.
      const double eps = std::sqrt(std::numeric_limits<double>::epsilon()) * (1.0 + scale) / norm;
      const Evaluation shifted = evaluate(pb, points, unpack(x + eps * v, start), lambda);
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
    const Eigen::VectorXd delta = gmres.solve(Eigen::VectorXd(-r));
    if (operator_failed || !delta.allFinite()) {
      out.failure = "the Newton–Krylov linear solve failed at step " + std::to_string(it);
      return out;
    }
    // Backtracking: halve the step until the residual falls.
    double t = 1.0;
    bool accepted = false;
    for (int h = 0; h <= kMaxStepHalvings && !accepted; ++h, t *= 0.5) {
      const Eigen::VectorXd trial = x + t * delta;
      const KernelStack C_trial = unpack(trial, start);
      if (first_indefinite_layer(C_trial)) continue;
      Evaluation trial_ev = evaluate(pb, points, C_trial, lambda);
      if (!trial_ev.failure.empty()) continue;
      const double trial_residual =
          (trial - pack(trial_ev.next)).cwiseAbs().maxCoeff() / trial.cwiseAbs().maxCoeff();
      if (std::isfinite(trial_residual) && trial_residual < residual) {
        x = trial;
        ev = std::move(trial_ev);
        accepted = true;
      }
    }
    if (!accepted) {
      // Near the rounding floor of the map the finite-difference step stops paying: fall
      // back to one damped fixed-point sweep, which contracts to that floor.
      const KernelStack C = unpack(x, start);
      KernelStack damped = C;
      for (Eigen::Index l = 2; l <= C.top_layer(); ++l)
        damped.layer(l) = symmetrised((1.0 - s.damping) * C.layer(l) + s.damping * ev.next.layer(l));
      x = pack(damped);
      ev = evaluate(pb, points, damped, lambda);
    }
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

TiltMethod resolve_method(const core::ModelSpec& spec, Eigen::Index P, TiltMethod method) {
  if (method != TiltMethod::automatic) return method;
  if (spec.activation == Activation::linear) return TiltMethod::linear_closed_form;
  return P <= kMaxQuadraturePoints ? TiltMethod::quadrature : TiltMethod::importance_sampling;
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

}  // namespace

FbSolution solve_fb(const core::ModelSpec& spec, const core::Dataset& data, const FbSettings& settings) {
  validate(settings);
  core::check_fits(data, spec);
  const Eigen::Index L = spec.depth();
  const Eigen::Index P = data.size();

  Problem pb;
  pb.spec = &spec;
  pb.input_kernel = core::input_kernel(data.inputs, spec.g(1), spec.bias_variance);
  pb.targets = data.targets;
  pb.settings = settings;
  pb.method = resolve_method(spec, P, settings.method);
  pb.options = PointEstimateOptions{.gradient_form = settings.gradient_form,
                                    .exact_first_order = settings.exact_first_order,
                                    .pair_tolerance = settings.pair_tolerance};
  check_fits(spec, P, settings, pb.method);

  // Point sets: one tensor rule for every layer, or the fixed base draws of each layer.
  std::vector<GaussianPoints> owned;
  LayerPoints points(static_cast<std::size_t>(L + 1), nullptr);
  if (pb.method == TiltMethod::quadrature) {
    owned.push_back(tensor_gauss_hermite_points(P, settings.quadrature_nodes));
    for (Eigen::Index l = 2; l <= L + 1; ++l) points[static_cast<std::size_t>(l - 1)] = &owned[0];
  } else if (pb.method == TiltMethod::importance_sampling) {
    owned.reserve(static_cast<std::size_t>(L));
    for (Eigen::Index l = 2; l <= L + 1; ++l) {
      owned.push_back(tilted_base_draws(settings.seed, l, settings.importance_samples, P));
      points[static_cast<std::size_t>(l - 1)] = &owned.back();
    }
  }

  FbSolution solution;
  solution.method = pb.method;
  solution.truncation_order = pb.method == TiltMethod::first_order ? 2 : 0;
  solution.nngp = nngp_kernels(spec, data.inputs, settings.pair_tolerance);
  const Attempt result = solve_with_homotopy(pb, points, solution.nngp, solution.homotopy_steps);
  solution.kernels = result.kernels;
  for (Eigen::Index l = 2; l <= L + 1; ++l) solution.kernels.layer(l) = symmetrised(solution.kernels.layer(l));
  solution.tilts = result.tilts;
  solution.iterations = result.iterations;
  solution.residual_history = result.history;
  solution.effective_sample_size = result.effective_sample_size;
  if (pb.method != TiltMethod::importance_sampling)
    std::fill(solution.effective_sample_size.begin(), solution.effective_sample_size.end(), kNaN);

  for (Eigen::Index l = 2; l <= L + 1; ++l) {
    if (!solution.kernels.layer(l).allFinite())
      throw NumericalError("fb_solver: C_FB^(" + std::to_string(l) + ") has a non-finite entry");
    const double lowest = relative_lowest_eigenvalue(solution.kernels.layer(l));
    if (lowest < -kPsdTolerance)
      throw NumericalError("fb_solver: C_FB^(" + std::to_string(l) + ") has lowest eigenvalue " +
                           format_number(lowest) + " x max|C|: not positive semidefinite");
  }

  // Error of the solution: solve again with a perturbed evaluation of the same map. The
  // 4-point functions of tanh and ReLU come from a 4-D rule (first-order term), so those
  // re-solves also drop it to the coarse node count.
  solution.kernel_errors = core::zero_kernel_stack(L + 1, P);
  const bool rule_four_point = spec.activation != Activation::linear && spec.activation != Activation::erf &&
                               (pb.method == TiltMethod::first_order || settings.exact_first_order);
  Problem coarse_pb = pb;
  coarse_pb.options.four_point_nodes = coarse_quadrature_nodes(pb.options.four_point_nodes);
  auto add_difference = [&](const Attempt& other) {
    for (Eigen::Index l = 2; l <= L + 1; ++l)
      solution.kernel_errors.layer(l) += (solution.kernels.layer(l) - other.kernels.layer(l)).cwiseAbs();
  };
  if (settings.estimate_errors && pb.method == TiltMethod::quadrature) {
    const GaussianPoints coarse = tensor_gauss_hermite_points(P, coarse_quadrature_nodes(settings.quadrature_nodes));
    const LayerPoints coarse_points(static_cast<std::size_t>(L + 1), &coarse);
    const Attempt rough = attempt(coarse_pb, coarse_points, solution.kernels, 1.0);
    if (!rough.converged) fail_solve("error estimate with the coarse rule: ", rough);
    add_difference(rough);
  } else if (settings.estimate_errors && pb.method == TiltMethod::first_order && rule_four_point) {
    const Attempt rough = attempt(coarse_pb, points, solution.kernels, 1.0);
    if (!rough.converged) fail_solve("error estimate with the coarse 4-point rule: ", rough);
    add_difference(rough);
  } else if (settings.estimate_errors && pb.method == TiltMethod::importance_sampling) {
    if (rule_four_point) {
      const Attempt rough = attempt(coarse_pb, points, solution.kernels, 1.0);
      if (!rough.converged) fail_solve("error estimate with the coarse 4-point rule: ", rough);
      add_difference(rough);
    }
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
      replicates[static_cast<std::size_t>(b)] = attempt(pb, batch_points, solution.kernels, 1.0);
    });
    for (const Attempt& r : replicates)
      if (!r.converged) fail_solve("error estimate on one batch of the draws: ", r);
    const double n = static_cast<double>(B);
    for (Eigen::Index l = 2; l <= L + 1; ++l) {
      Eigen::MatrixXd mean = Eigen::MatrixXd::Zero(P, P);
      for (const Attempt& r : replicates) mean += r.kernels.layer(l) / n;
      Eigen::MatrixXd squares = Eigen::MatrixXd::Zero(P, P);
      for (const Attempt& r : replicates) squares += (r.kernels.layer(l) - mean).cwiseAbs2();
      solution.kernel_errors.layer(l) += (squares / ((n - 1.0) * n)).cwiseSqrt();
    }
  }
  return solution;
}

}  // namespace kernelmc::theory
