#include "theory/prediction.hpp"

#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "theory/deep_linear_oracles.hpp"
#include "theory/nngp.hpp"
#include "theory/one_loop.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

Eigen::MatrixXd draws(std::uint64_t index, Eigen::Index rows, Eigen::Index cols) {
  core::Engine engine = core::make_stream(31, core::StreamPurpose::test, 0, index);
  return core::standard_normal_matrix(engine, rows, cols);
}

double max_abs(const Eigen::MatrixXd& M) { return M.cwiseAbs().maxCoeff(); }

// Config B (THEORY.md §8.1) at width N, and two test points off the training set.
core::ModelSpec config_b_spec(Eigen::Index N) { return core::uniform_model(3, 2, N, Activation::erf, 2.0, 0.0, 1.0); }
Eigen::MatrixXd config_b_tests() {
  return (Eigen::MatrixXd(2, 3) << 0.5, -1.0, 1.0, -0.3, 0.8, 1.0).finished();
}

TEST(Prediction, GpPredictionMatchesPosteriorPrecisionRoute) {
  // Independent route: the joint posterior of (f_tr, f_*) has precision C⁻¹ + diag(1/κ on
  // the training points, 0) and mean Σ_post (Y/κ, 0). Condition numbers are O(10²) here:
  // tolerance 1e-10.
  const Eigen::MatrixXd F = draws(1, 6, 9);
  const Eigen::MatrixXd C = F * F.transpose() / 9.0;
  const Eigen::MatrixXd Y = draws(2, 4, 2);
  const double kappa = 0.4;
  const GpPrediction p = gp_prediction(C, Y, kappa);
  Eigen::MatrixXd precision = C.inverse();
  precision.diagonal().head(4).array() += 1.0 / kappa;
  const Eigen::MatrixXd posterior = precision.inverse();
  Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(6, 2);
  rhs.topRows(4) = Y / kappa;
  const Eigen::MatrixXd mean = posterior * rhs;
  EXPECT_LT(max_abs(p.mean - mean.bottomRows(2)), 1e-10);
  EXPECT_LT((p.variance - posterior.diagonal().tail(2)).cwiseAbs().maxCoeff(), 1e-10);
}

TEST(Prediction, AugmentedInputsRejectBadTestInputsNamingThem) {
  const core::Dataset data = core::config_b_dataset();
  const Eigen::MatrixXd X = augmented_inputs(data, config_b_tests());
  EXPECT_EQ(X.topRows(4), data.inputs);
  EXPECT_EQ(X.bottomRows(2), config_b_tests());
  for (const Eigen::MatrixXd& bad : {Eigen::MatrixXd(Eigen::MatrixXd::Ones(1, 2)), Eigen::MatrixXd(0, 3)}) {
    try {
      (void)augmented_inputs(data, bad);
      ADD_FAILURE() << "no DataError";
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find("test_inputs"), std::string::npos) << e.what();
    }
  }
  Eigen::MatrixXd nan = config_b_tests();
  nan(0, 0) = std::nan("");
  EXPECT_THROW((void)augmented_inputs(data, nan), DataError);
}

TEST(Prediction, NngpPredictionOfLinearNetworkUsesScaledInputKernel) {
  // Linear φ, σ_b = 0: C_GP^(L+1) = g_2⋯g_{L+1} K₀ on the augmented inputs (THEORY.md §3.2).
  // Regression by hand on that kernel; rounding, 1e-12.
  const Eigen::MatrixXd X = draws(3, 5, 3);
  const Eigen::VectorXd y = draws(4, 5, 1);
  const Eigen::MatrixXd T = draws(5, 2, 3);
  core::ModelSpec spec = core::uniform_model(3, 2, 7, Activation::linear, 1.0, 0.0, 0.3);
  spec.weight_variances = {1.2, 0.7, 1.5};
  const GpPrediction p = nngp_prediction(spec, core::Dataset{X, y, "random"}, T, core::TheorySettings{});
  const Eigen::MatrixXd K0 = 0.7 * 1.5 * 1.2 / 3.0 * X * X.transpose();
  const Eigen::MatrixXd k = 0.7 * 1.5 * 1.2 / 3.0 * X * T.transpose();
  const Eigen::MatrixXd Kss = 0.7 * 1.5 * 1.2 / 3.0 * T * T.transpose();
  const Eigen::MatrixXd G = K0 + 0.3 * Eigen::MatrixXd::Identity(5, 5);
  EXPECT_LT(max_abs(p.mean - k.transpose() * G.ldlt().solve(y)), 1e-12);
  EXPECT_LT((p.variance - (Kss - k.transpose() * G.ldlt().solve(k)).diagonal()).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(Prediction, OneLoopTendsToNngpAsOneOverWidth) {
  // μ and Σ carry exactly 1/N, and the §5.2 corrections are linear in them: N·(E − m) and
  // N·(Var − v) are the same at every width (rounding: 1e-9 relative), and at N = 10¹² the
  // one-loop prediction is the NNGP one to 1e-10.
  const core::Dataset data = core::config_b_dataset();
  const core::TheorySettings settings;
  const OneLoopGpPrediction a = one_loop_gp_prediction(config_b_spec(1000), data, config_b_tests(), settings, 1);
  const OneLoopGpPrediction b = one_loop_gp_prediction(config_b_spec(1000000), data, config_b_tests(), settings, 1);
  const Eigen::MatrixXd da = 1e3 * (a.mean - a.nngp.mean), db = 1e6 * (b.mean - b.nngp.mean);
  EXPECT_LT(max_abs(da - db), 1e-9 * max_abs(da));
  const Eigen::MatrixXd va = 1e3 * (a.variance.colwise() - a.nngp.variance);
  const Eigen::MatrixXd vb = 1e6 * (b.variance.colwise() - b.nngp.variance);
  EXPECT_LT(max_abs(va - vb), 1e-9 * max_abs(va));
  EXPECT_GT(max_abs(da), 1e-3);  // a correction that is there
  const OneLoopGpPrediction wide =
      one_loop_gp_prediction(config_b_spec(1000000000000), data, config_b_tests(), settings, 1);
  EXPECT_LT(max_abs(wide.mean - wide.nngp.mean), 1e-10);
  EXPECT_LT(max_abs(wide.variance.colwise() - wide.nngp.variance), 1e-10);
  const GpPrediction nngp = nngp_prediction(config_b_spec(1), data, config_b_tests(), settings);
  EXPECT_LT(max_abs(nngp.mean - wide.nngp.mean), 1e-14);
}

// m_t, v_t and ℓ as functions of the independent (upper-triangle) entries of the augmented
// output kernel, for central differences.
struct Functions {
  Eigen::MatrixXd C;
  Eigen::MatrixXd Y;
  double kappa;
  Eigen::Index n() const { return C.rows(); }
  Eigen::MatrixXd at(const Eigen::VectorXd& dx) const { return C + core::from_upper_triangle(dx, n()); }
  // Values stacked: m (T), v (T), ℓ.
  Eigen::VectorXd operator()(const Eigen::VectorXd& dx) const {
    const Eigen::MatrixXd K = at(dx);
    const GpPrediction p = gp_prediction(K, Y, kappa);
    const Eigen::Index T = p.variance.size();
    Eigen::VectorXd out(2 * T + 1);
    out << p.mean.col(0), p.variance, log_likelihood(K, Y, kappa);
    return out;
  }
};

TEST(Prediction, LinearOneLayerMatchesFiniteDifferenceEvaluationOfFormula) {
  // THEORY.md §5.2 evaluated independently: ∇m, ∇v, ∇ℓ and the Hessians of m and v by
  // central differences in the K independent entries of the augmented output kernel, Σ the
  // exact Wishart covariance of C^(2) (theory/deep_linear_oracles; for L = 1 it is exactly
  // the leading-order Σ), μ = 0 (linear φ). Differences: step h = 1e-3 on first
  // derivatives (truncation ≈ h² ≈ 1e-6 times a third derivative of O(1)), h = 1e-3 on the
  // Hessians with the same truncation, rounding ≈ 1e-16/h² = 1e-10. The error of each
  // contracted term is at most Σ_kk'|Σ_kk'| times that, 1e-6·Σ|Σ|: the tolerance.
  const Eigen::MatrixXd X = draws(6, 4, 3);
  const Eigen::VectorXd y = draws(7, 4, 1);
  const Eigen::MatrixXd T = draws(8, 2, 3);
  const core::ModelSpec spec = core::uniform_model(3, 1, 20, Activation::linear, 1.3, 0.0, 0.5);
  const core::Dataset data{X, y, "random"};
  const OneLoopGpPrediction p = one_loop_gp_prediction(spec, data, T, core::TheorySettings{}, 1);

  const Eigen::MatrixXd K0 = core::input_kernel(augmented_inputs(data, T), 1.3, 0.0);
  const Functions f{1.3 * K0, y, 0.5};
  const Eigen::Index K = core::triangle_size(6);
  const Eigen::MatrixXd Sigma = deep_linear_prior_covariance(spec, K0, 2);
  const double h = 1e-3;
  auto unit = [&](Eigen::Index k) { return Eigen::VectorXd(Eigen::VectorXd::Unit(K, k)); };
  const Eigen::VectorXd f0 = f(Eigen::VectorXd::Zero(K));
  Eigen::MatrixXd gradient(5, K);  // rows m_1, m_2, v_1, v_2, ℓ
  for (Eigen::Index k = 0; k < K; ++k) gradient.col(k) = (f(h * unit(k)) - f(-h * unit(k))) / (2 * h);
  Eigen::VectorXd curvature = Eigen::VectorXd::Zero(5);  // ½ Σ:∇²F
  for (Eigen::Index k = 0; k < K; ++k)
    for (Eigen::Index j = 0; j < K; ++j) {
      const Eigen::VectorXd second = (f(h * (unit(k) + unit(j))) - f(h * (unit(k) - unit(j))) -
                                      f(h * (unit(j) - unit(k))) + f(-h * (unit(k) + unit(j)))) / (4 * h * h);
      curvature += 0.5 * Sigma(k, j) * second;
    }
  const Eigen::VectorXd shift = Sigma * gradient.row(4).transpose();  // Σ∇ℓ
  const double tolerance = 1e-6 * Sigma.cwiseAbs().sum();
  for (Eigen::Index t = 0; t < 2; ++t) {
    const double mean = f0(t) + gradient.row(t).dot(shift) + curvature(t);
    const double fluctuation = gradient.row(t).dot(Sigma * gradient.row(t).transpose());
    const double variance = f0(2 + t) + gradient.row(2 + t).dot(shift) + curvature(2 + t) + fluctuation;
    EXPECT_NEAR(p.mean(t, 0), mean, tolerance) << "test point " << t;
    EXPECT_NEAR(p.variance(t, 0), variance, tolerance) << "test point " << t;
    // The terms the test is about are far above the tolerance, so a wrong one would show.
    EXPECT_GT(std::abs(curvature(t)), 10 * tolerance) << "test point " << t;
    EXPECT_GT(std::abs(curvature(2 + t)), 10 * tolerance) << "test point " << t;
    EXPECT_GT(fluctuation, 10 * tolerance) << "test point " << t;
  }
}

// The exact posterior predictive of a linear network with one hidden layer (THEORY.md §3.2,
// §7.2): f | s ~ N(0, sK₀), s = g_2 u, u ~ χ²_N/N, so E[f_*|y] = E_{u|y}[m_s] and Var = E[v_s]
// + Var[m_s], by adaptive Gauss–Kronrod over u (relative tolerance 1e-13).
PredictiveMoments exact_linear_prediction(double N, double g2, const Eigen::MatrixXd& K0, const Eigen::VectorXd& y,
                                          double kappa) {
  const Eigen::Index P = y.size();
  auto point = [&](double u) {
    const Eigen::MatrixXd C = g2 * u * K0;
    const GpPrediction p = gp_prediction(C, y, kappa);
    return std::pair<GpPrediction, double>(p, (N / 2 - 1) * std::log(u) - N * u / 2 + log_likelihood(C, y, kappa));
  };
  const double peak = point(1.0).second;
  const double width = 14.0 * std::sqrt(2.0 / N);
  const Eigen::Index T = K0.rows() - P;
  auto integrate = [&](auto&& F) {
    return boost::math::quadrature::gauss_kronrod<double, 61>::integrate(
        [&](double u) {
          const auto [p, log_density] = point(u);
          return std::exp(log_density - peak) * F(p);
        },
        std::max(1e-12, 1.0 - width), 1.0 + width, 20, 1e-13);
  };
  const double Z = integrate([](const GpPrediction&) { return 1.0; });
  PredictiveMoments out{Eigen::MatrixXd(T, 1), Eigen::MatrixXd(T, 1)};
  for (Eigen::Index t = 0; t < T; ++t) {
    const double m = integrate([&](const GpPrediction& p) { return p.mean(t, 0); }) / Z;
    const double second = integrate([&](const GpPrediction& p) { return p.variance(t) + p.mean(t, 0) * p.mean(t, 0); }) / Z;
    out.mean(t, 0) = m;
    out.variance(t, 0) = second - m * m;
  }
  return out;
}

TEST(Prediction, OneLoopMatchesExactLinearPosteriorToSecondOrder) {
  // THEORY.md §5.1–5.2 against the exact finite-N posterior of a linear network with one
  // hidden layer, where μ = 0 and Σ is exact, so the one-loop error is O(1/N²) (ASYM(1/N²)):
  // doubling N divides it by 4 (window ±20 %, the O(1/N³) remainder at N ≥ 100), while the
  // NNGP error only halves (must-fail twin: ratio 2 is outside the window).
  const Eigen::MatrixXd X = draws(9, 4, 3);
  const Eigen::VectorXd y = draws(10, 4, 1);
  const Eigen::MatrixXd T = draws(11, 2, 3);
  const core::Dataset data{X, y, "random"};
  const Eigen::MatrixXd K0 = core::input_kernel(augmented_inputs(data, T), 1.0, 0.0);
  auto errors = [&](Eigen::Index N) {
    const core::ModelSpec spec = core::uniform_model(3, 1, N, Activation::linear, 1.0, 0.0, 0.5);
    const OneLoopGpPrediction p = one_loop_gp_prediction(spec, data, T, core::TheorySettings{}, 1);
    const PredictiveMoments exact = exact_linear_prediction(static_cast<double>(N), 1.0, K0, y, 0.5);
    return std::array<double, 4>{max_abs(p.mean - exact.mean), max_abs(p.variance - exact.variance),
                                 max_abs(p.nngp.mean - exact.mean),
                                 max_abs(p.nngp.variance - exact.variance.col(0))};
  };
  // Measured: one loop 3.6e-5, 9.2e-6, 2.3e-6 (mean) and 8.5e-5, 2.2e-5, 5.4e-6 (variance),
  // NNGP 7.8e-4, 4.0e-4, 2.0e-4 and 1.5e-3, 7.7e-4, 3.9e-4 at N = 100, 200, 400.
  const std::array<double, 4> e1 = errors(100), e2 = errors(200), e3 = errors(400);
  for (int i = 0; i < 4; ++i) {
    const bool one_loop = i < 2;
    for (const double ratio : {e1[i] / e2[i], e2[i] / e3[i]}) {
      if (one_loop) {
        EXPECT_NEAR(ratio, 4.0, 0.8) << (i == 0 ? "mean" : "variance");
      } else {
        EXPECT_LT(ratio, 3.2) << "NNGP " << (i == 2 ? "mean" : "variance");
      }
    }
  }
  EXPECT_LT(e3[0], 0.02 * e3[2]);  // the one-loop prediction is the better one at N = 400
}

TEST(Prediction, SuperpositionAgreesWithGradientRouteToSecondOrder) {
  // Two routes to the same O(1/N) prediction (THEORY.md §5.2): closed-form derivatives with Σ
  // as an operator, and the reweighted Gaussian superposition by a degree-3 rule on the
  // explicit Σ. They differ at O(1/N²) (ASYM(1/N²)): doubling N divides the difference by 4
  // (window ±20 %; measured 4.03, 4.02 over N = 100, 200, 400). Must-fail twin: the
  // variance without ∇mᵀΣ∇m misses at O(1/N), ratio 2 (measured 1.98).
  const core::Dataset data = core::config_b_dataset();
  const core::TheorySettings settings;
  auto difference = [&](Eigen::Index N) {
    const OneLoopGpPrediction g = one_loop_gp_prediction(config_b_spec(N), data, config_b_tests(), settings, 1);
    const OneLoopGpPrediction s =
        one_loop_gp_prediction(config_b_spec(N), data, config_b_tests(), settings, 1, PredictionRoute::superposition);
    const Eigen::MatrixXd no_fluctuation = g.variance - g.terms.variance_fluctuation;
    return std::array<double, 3>{max_abs(g.mean - s.mean), max_abs(g.variance - s.variance),
                                 max_abs(no_fluctuation - s.variance)};
  };
  const std::array<double, 3> d1 = difference(100), d2 = difference(200), d3 = difference(400);
  for (int i = 0; i < 3; ++i) {
    for (const double ratio : {d1[i] / d2[i], d2[i] / d3[i]}) {
      if (i < 2) {
        EXPECT_NEAR(ratio, 4.0, 0.8) << (i == 0 ? "mean" : "variance");
      } else {
        EXPECT_LT(ratio, 3.2) << "variance without the fluctuation term";
      }
    }
  }
}

TEST(Prediction, FbExtensionReproducesTrainingBlockAndDuplicatedPoint) {
  // The augmented FB problem decouples (prediction.hpp): the training block of the extension
  // is the FB solution, and a test point at a training input x_0 gets the kernel row of x_0.
  // First order: both exact (rounding, 1e-12). Tensor quadrature: the extension's rule has
  // one dimension more than the solver's, so its training block differs by a quadrature
  // error: tolerance the solver's own estimate |C_n − C_m| (measured 2.3e-7 against 2e-6);
  // a duplicated coordinate is still integrated exactly (1e-12).
  const core::Dataset data = core::config_b_dataset();
  Eigen::MatrixXd tests(2, 3);
  tests << data.inputs.row(0), config_b_tests().row(0);
  for (TiltMethod method : {TiltMethod::first_order, TiltMethod::quadrature}) {
    FbSettings fb;
    fb.method = method;
    const FbSolution solution = solve_fb(config_b_spec(50), data, fb);
    // The tensor rule takes P + T ≤ 5 points: one test point there.
    const Eigen::Index T = method == TiltMethod::quadrature ? 1 : 2;
    const core::KernelStack C = extend_fb_kernels(config_b_spec(50), data, tests.topRows(T), solution, fb);
    ASSERT_EQ(C.layer(3).rows(), 4 + T);
    for (Eigen::Index l = 1; l <= 3; ++l) {
      const double training_tolerance =
          method == TiltMethod::quadrature ? max_abs(solution.kernel_errors.layer(3)) : 1e-12;
      EXPECT_LT(max_abs(C.layer(l).topLeftCorner(4, 4) - solution.kernels.layer(l)), training_tolerance)
          << tilt_method_name(method) << ", layer " << l;
      EXPECT_LT(max_abs(C.layer(l).row(4).head(4) - C.layer(l).row(0).head(4)), 1e-12);
      EXPECT_NEAR(C.layer(l)(4, 4), C.layer(l)(0, 0), 1e-12);
    }
    if (T == 2) {
      EXPECT_GT(std::abs(C.layer(3)(5, 0) - C.layer(3)(4, 0)), 1e-3);  // a distinct point differs
    } else {
      EXPECT_THROW(extend_fb_kernels(config_b_spec(50), data, tests, solution, fb), ConfigError);  // P + T = 6
    }
  }
}

TEST(Prediction, FbPredictionApproachesFirstOrderAtLargeWidth) {
  // GP regression on the extended FB kernel is m(C_FB) = m + ∇m·(C_FB − C_GP) + O(1/N²), and
  // C_FB − C_GP → δC on the augmented kernel, test rows included (THEORY.md §4.6): the
  // relative deviation of m_FB − m from ∇m·δC (and of v_FB − v from ∇v·δC) is O(1/N)
  // (ASYM(1/N)), halving when N doubles (window ±25 %; measured 1.8e-5 → 9.2e-6 and 2.4e-4 →
  // 1.2e-4 at N = 2000 → 4000).
  const core::Dataset data = core::config_b_dataset();
  FbSettings fb;
  fb.method = TiltMethod::first_order;
  auto deviation = [&](Eigen::Index N) {
    const core::ModelSpec spec = config_b_spec(N);
    const FbSolution solution = solve_fb(spec, data, fb);
    const GpPrediction p = fb_prediction(spec, data, config_b_tests(), solution, fb);
    const OneLoopPrediction one = one_loop_prediction(spec, augmented_inputs(data, config_b_tests()), data.targets,
                                                      core::TheorySettings{}, 1);
    const Eigen::MatrixXd& C = one.nngp.layer(3);
    const PredictiveCorrections first = predictive_corrections(
        C, data.targets, spec.kappa, one.adaptation.layer(3), [](const Eigen::MatrixXd& M) { return Eigen::MatrixXd(0.0 * M); });
    const GpPrediction m = gp_prediction(C, data.targets, spec.kappa);
    const Eigen::MatrixXd fb_shift = p.mean - m.mean;
    return std::array<double, 2>{max_abs(fb_shift - first.mean_shift) / max_abs(first.mean_shift),
                                 (p.variance - m.variance - first.variance_shift).cwiseAbs().maxCoeff() /
                                     first.variance_shift.cwiseAbs().maxCoeff()};
  };
  const std::array<double, 2> d1 = deviation(2000), d2 = deviation(4000);
  EXPECT_NEAR(d1[0] / d2[0], 2.0, 0.5) << d1[0] << " " << d2[0];
  EXPECT_NEAR(d1[1] / d2[1], 2.0, 0.5) << d1[1] << " " << d2[1];
}

TEST(Prediction, SuperpositionRouteNeedsQuadratureCovariance) {
  core::TheorySettings settings;
  settings.four_point = core::FourPointMethod::monte_carlo;
  settings.four_point_samples = 2000;
  try {
    one_loop_gp_prediction(config_b_spec(50), core::config_b_dataset(), config_b_tests(), settings, 1,
                           PredictionRoute::superposition);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("theory.four_point"), std::string::npos) << e.what();
  }
}

TEST(Prediction, PrecomputedPriorStatisticsGiveTheSameNumbers) {
  // The overloads taking prior_moments and prior_covariance_replicates (computed once by a
  // caller that needs both the kernels and the predictions) must give bit for bit what the
  // seed-taking overloads compute themselves from the same draws.
  core::TheorySettings settings;
  settings.four_point = core::FourPointMethod::monte_carlo;
  settings.four_point_samples = 2000;
  const core::ModelSpec spec = config_b_spec(50);
  const core::Dataset data = core::config_b_dataset();
  const Eigen::MatrixXd X = augmented_inputs(data, config_b_tests());
  PriorMoments prior = prior_moments(spec, X, settings, 3);
  const PriorCovarianceReplicates covariance = prior_covariance_replicates(spec, prior.nngp, settings, 3);

  const OneLoopGpPrediction gp = one_loop_gp_prediction(spec, data, config_b_tests(), prior, covariance);
  const OneLoopGpPrediction gp_seeded = one_loop_gp_prediction(spec, data, config_b_tests(), settings, 3);
  EXPECT_EQ(gp.mean, gp_seeded.mean);
  EXPECT_EQ(gp.variance, gp_seeded.variance);
  EXPECT_EQ(gp.mean_standard_error, gp_seeded.mean_standard_error);
  EXPECT_EQ(gp.variance_standard_error, gp_seeded.variance_standard_error);
  EXPECT_GT(gp.mean_standard_error.maxCoeff(), 0.0);  // Monte Carlo errors are there

  const OneLoopPrediction kernels = one_loop_prediction(spec, prior, covariance, data.targets, settings);
  const OneLoopPrediction kernels_seeded = one_loop_prediction(spec, X, data.targets, settings, 3);
  for (Eigen::Index l = 1; l <= spec.depth() + 1; ++l) {
    EXPECT_EQ(kernels.adaptation.layer(l), kernels_seeded.adaptation.layer(l)) << "layer " << l;
    EXPECT_EQ(kernels.adaptation_standard_error.layer(l), kernels_seeded.adaptation_standard_error.layer(l));
    EXPECT_EQ(kernels.posterior_mean.layer(l), kernels_seeded.posterior_mean.layer(l)) << "layer " << l;
  }

  // Moments of other inputs than the data's P + T are refused, naming the function.
  const PriorMoments training_only = prior_moments(spec, data.inputs, settings, 3);
  EXPECT_THROW(one_loop_gp_prediction(spec, data, config_b_tests(), training_only, covariance), DataError);
  const Eigen::MatrixXd too_many_targets = Eigen::MatrixXd::Ones(data.size() + 1, 1);
  EXPECT_THROW(one_loop_prediction(spec, training_only, covariance, too_many_targets, settings), DataError);
}

}  // namespace
}  // namespace kernelmc::theory
