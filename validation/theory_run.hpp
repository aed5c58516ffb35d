#pragma once
// `kernelmc theory`: every analytic prediction for every layer of one configuration, with no
// sampling.
//   THEORY.md §2    NNGP kernels C_GP^(l);
//   THEORY.md §3.4  prior mean shift μ^(l) and covariance Σ^(l) (summaries; Σ itself when small);
//   THEORY.md §4.3–§4.5  MAP forward–backward kernels C_FB^(l) and tilts C̃^(l);
//   THEORY.md §4.6, §5.1 one-loop adaptation δC^(l) = Σ^(l)[G^(l)] and C_GP + μ + δC;
//   THEORY.md §5.2  predictive mean and variance at test points with the NNGP, FB and
//                   one-loop kernels;
//   THEORY.md §7    for deep linear networks, the exact oracles that apply;
// and, per theory, whether it is exact for the configuration at hand.
//
// Routes (each recorded in the result, `routes`):
// - Test points: for generated data (xor, teacher) kHeldOutTestPoints held-out inputs from
//   the same generator on the stream make_stream(seed, dataset, 0, 1) (training uses index
//   0); for xor one per cluster, with their labels as targets (a teacher's labels would
//   need its weights, which the held-out stream redraws, so none). For fixed data sets
//   (config_a, config_b, csv) the training inputs themselves.
// - Prior moments and one loop are computed once on the P + T augmented inputs (training
//   first): the training block of every augmented quantity equals the training-only one
//   (each entry depends only on the kernel entries among its own inputs; with zero
//   likelihood gradient on the test rows δC's training block is Σ_train[G_train]), so one
//   4-point computation serves the layer report and the predictions.
// - One loop: theory::choose_one_loop_route decides (with the exact 4-point route for erf and
//   linear φ beyond theory.quadrature_max_points while the explicit K×K Σ fits,
//   K = (P+T)(P+T+1)/2). Explicit route with quadrature: δC and the one-loop predictions
//   from the explicit Σ (deterministic, no standard errors); with Monte Carlo: the library's
//   replicate routes (theory/one_loop, theory/prediction), with standard errors. Where the
//   explicit Σ does not fit, the operator route (theory/one_loop_operator): μ, Σ's pair-local
//   summaries and δC without a K×K object; the one-loop predictions and the Σ summaries that
//   need more than the pair-local entries (target variance, Frobenius norm) are NaN there.
// - FB: the settings and route of theory::choose_fb_route (theory/fb_solver.hpp: automatic
//   picks the method, and for importance sampling exact_first_order and the draw count).
#include <Eigen/Core>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "core/kernel_stack.hpp"
#include "core/layer_stack.hpp"
#include "core/model_spec.hpp"
#include "theory/fb_solver.hpp"
#include "validation/observer.hpp"

namespace kernelmc::validation {

// Held-out test points drawn for generated data sets: 4 = one per XOR cluster (point α sits
// at centre α mod 4).
inline constexpr Eigen::Index kHeldOutTestPoints = 4;

struct TestPoints {
  Eigen::MatrixXd inputs;   // T×d
  Eigen::MatrixXd targets;  // T×D, or 0×0 when the generator cannot give them
  std::string source;       // how they were chosen
};
// The test points of the run (see the file comment).
TestPoints make_test_points(const core::Config& config, const core::Dataset& training);

// Summaries of the prior covariance Σ^(l) of one layer's kernel entries, each multiplied
// by `scale` (N when all hidden widths equal N, so that the numbers are N-independent at
// leading order; 1 otherwise). With Monte Carlo 4-point functions each carries an upper
// bound on its standard error, Σ_k |w_k| SE(Σ_k) for the summary Σ_k w_k Σ_k (0 with
// quadrature).
struct CovarianceSummary {
  double diagonal_variance = 0.0;        // mean over a of N·Var(C_aa)
  double off_diagonal_variance = 0.0;    // mean over a < b of N·Var(C_ab) (0 for P = 1)
  double trace_variance = 0.0;           // N·Var(tr C) = Σ_ab N·Cov(C_aa, C_bb)
  double target_variance = 0.0;          // N·Var(⟨T, C⟩), T = YYᵀ/‖YYᵀ‖_F (= N·Var(ŷᵀCŷ) for D = 1)
  double target_relative_variance = 0.0; // N·Var(⟨T, C⟩)/⟨T, C_GP⟩²: relative fluctuation along the target
  double frobenius = 0.0;                // ‖N·Σ‖_F over the K×K upper-triangle matrix
  double diagonal_variance_se = 0.0, off_diagonal_variance_se = 0.0, trace_variance_se = 0.0,
         target_variance_se = 0.0;
};

// Everything predicted for layer l (l = 1..L+1) on the P training points.
struct TheoryLayer {
  Eigen::Index layer = 0;
  Eigen::MatrixXd nngp;                  // C_GP^(l)
  // Prior at leading order in 1/N (THEORY.md §3.4); empty when the one-loop parts were not computed.
  Eigen::MatrixXd mean_shift, mean_shift_se;  // μ^(l) and its Monte Carlo SE
  CovarianceSummary covariance;
  Eigen::MatrixXd covariance_matrix;     // Σ^(l), K×K over the upper triangle, when explicit and small; else empty
  // One loop (THEORY.md §4.6, §5.1).
  Eigen::MatrixXd one_loop_tilt;         // C̃^(l) = G^(l)/N_{l−1} (first order)
  Eigen::MatrixXd adaptation, adaptation_se;  // δC^(l) = Σ^(l)[G^(l)]
  Eigen::MatrixXd one_loop_mean;         // C_GP + μ + δC
  // FB (THEORY.md §4.3).
  Eigen::MatrixXd fb_tilt;               // C̃^(l)
  Eigen::MatrixXd fb_kernel, fb_kernel_error;  // C_FB^(l) and its error estimate
  double fb_effective_sample_size = 0.0; // Kish ESS of layer l's importance weights (NaN otherwise)
  // Along the target, ⟨T, ·⟩ with T = YYᵀ/‖YYᵀ‖_F, times `scale` (THEORY.md §8.1: N·ŷᵀΔCŷ).
  double one_loop_target_adaptation = 0.0;   // N·⟨T, δC⟩
  double one_loop_target_adaptation_se = 0.0;
  double fb_target_adaptation = 0.0;         // N·⟨T, C_FB − C_GP⟩
  double fb_target_adaptation_error = 0.0;   // Σ_ab |T_ab|·error_ab, an upper bound
};

struct FbRunSummary {
  core::TiltMethod method = core::TiltMethod::automatic;  // used (never automatic)
  theory::FbSettings settings;            // as used (after the automatic choices)
  int iterations = 0;
  double residual = 0.0;                  // last relative residual
  std::vector<double> residual_history;
  std::vector<double> homotopy_steps;
  int truncation_order = 0;
};

struct PredictionSet {
  Eigen::MatrixXd mean;      // T×D
  Eigen::MatrixXd variance;  // T×D (the NNGP and FB variances do not depend on the output)
  Eigen::MatrixXd mean_se, variance_se;  // Monte Carlo SEs (one loop with Monte Carlo), else zero
};

// Exact deep linear oracles (THEORY.md §3.2, §4.6, §7), for a linear network with σ_b = 0,
// equal widths and one output.
struct LinearOracles {
  bool applicable = false;
  std::string reason;                    // why not, when not applicable
  core::KernelStack first_order_adaptation;  // δC^(l) closed form (THEORY.md §4.6)
  double first_order_adaptation_max_difference = 0.0;  // max |δC_one-loop − δC_closed form|
  core::KernelStack fb_kernels;          // the linear FB equations solved exactly (§4.3, §7.3)
  double fb_max_difference = 0.0;        // max |C_FB(solver) − C_FB(closed form)|
  double scale_mean = 0.0, scale_mean_error = 0.0;  // E[s | y] at finite N (§7.1), exact
  double scale_variance = 0.0, scale_variance_error = 0.0;
  double scale_prior_mean = 0.0;         // G = ∏ g_l, the prior mean of s
  double saddle_u = 0.0, saddle_scale = 0.0;  // BPKR proportional-limit saddle (§7.1)
  bool has_exact_hidden_kernel = false;  // L = 1: E[C^(2) | y] exact (§7.2)
  Eigen::MatrixXd exact_hidden_kernel;
  double exact_hidden_kernel_error = 0.0;
};

// One theory's claim for this configuration.
struct ExactnessStatement {
  std::string theory;
  bool exact = false;
  std::string statement;
};

struct TheoryRunResult {
  core::Config config;
  core::ModelSpec spec;
  std::string dataset_name;
  Eigen::Index points = 0;   // P
  double scale = 1.0;        // N when all hidden widths are N, else 1 (see CovarianceSummary)
  Eigen::MatrixXd targets;   // Y (P×D)
  TestPoints test;
  core::LayerStack<TheoryLayer> layers;  // layer(l), l = 1..L+1
  bool one_loop_computed = false;
  std::string one_loop_skipped;      // the reason, when not computed (no route skips it today)
  core::FourPointMethod four_point_method = core::FourPointMethod::quadrature;  // used
  FbRunSummary fb;
  PredictionSet nngp_prediction, fb_prediction, one_loop_prediction;
  LinearOracles linear;
  std::vector<ExactnessStatement> exactness;
  std::vector<std::string> routes;   // every automatic choice, in words
  std::vector<std::pair<std::string, double>> stage_seconds;
  double seconds = 0.0;
};

// All predictions for `config` on `data` (validated here). Throws ConfigError / DataError
// for bad input and NumericalError from the solvers (e.g. FB not converging).
TheoryRunResult run_theory_predictions(const core::Config& config, const core::Dataset& data,
                                       Observer& observer);

}  // namespace kernelmc::validation
