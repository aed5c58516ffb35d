// The pieces of `kernelmc theory` on examples/theory_erf_p256.toml (erf, L = 3, P = 256),
// each timed on its own so that a slow stage shows which piece it is:
//  - BM_CovarianceFactor/symmetric:{0,1}: the factor R (RRᵀ = C) of the NNGP kernel
//    C^(2) that maps the importance-sampling draws to h = R z, by Cholesky and by the
//    symmetric eigen-root (0: Cholesky, 1: symmetric; the routes of theory/tilted_expectations);
//  - BM_TiltedExpectations/symmetric:{0,1}: one importance-sampling evaluation of layer
//    3's tilted measure (what every FB sweep does per layer) with each factor;
//  - BM_NngpKernels, BM_OperatorOneLoop: the run's NNGP stage and its one-loop stage (the
//    operator route, as theory_run picks it at P + T = 260; here the 4 test inputs are
//    training inputs repeated, which costs the same);
//  - BM_FbSolve/errors:{0,1}: the FB solve without (0) and with (1) its error estimate.
// The multi-threaded pieces report the process's CPU time (all threads), since on a shared
// machine the wall time mostly measures the load.
// The whole command's wall time and peak memory: bench/theory_cli_p256.sh.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <Eigen/LU>
#include <string>

#include "bench/bench_main.hpp"

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "core/dataset_generators.hpp"
#include "core/model_spec.hpp"
#include "theory/fb_solver.hpp"
#include "theory/nngp.hpp"
#include "theory/one_loop_operator.hpp"
#include "theory/prediction.hpp"
#include "theory/tilted_expectations.hpp"

namespace {

namespace kc = kernelmc::core;
namespace kt = kernelmc::theory;

// The example's configuration, data, model and FB settings as `kernelmc theory` resolves them.
struct Example {
  kc::Config config;
  kc::Dataset data;
  kc::ModelSpec spec;
  kt::FbSettings fb;
};

const Example& example() {
  static const Example e = [] {
    Example out;
    out.config = kc::load_config(KERNELMC_EXAMPLES_DIR "/theory_erf_p256.toml", {});
    out.data = kc::make_dataset(out.config.data, out.config.run.seed);
    out.spec = kc::resolve_model(out.config.model, out.data.input_dim(), out.data.output_dim());
    out.fb = kt::choose_fb_route(out.spec, out.data.size(), out.config.fb).settings;
    return out;
  }();
  return e;
}

kt::CovarianceRootKind root_kind(const benchmark::State& state) {
  return state.range(0) == 0 ? kt::CovarianceRootKind::cholesky : kt::CovarianceRootKind::symmetric;
}

void BM_CovarianceFactor(benchmark::State& state) {
  const Example& e = example();
  const kc::KernelStack nngp = kt::nngp_kernels(e.spec, e.data.inputs, e.fb.pair_tolerance);
  const kt::CovarianceRootKind kind = root_kind(state);
  for (auto _ : state) benchmark::DoNotOptimize(kt::covariance_factor(nngp.layer(2), kind, false));
  state.SetLabel(kt::cholesky_factor_applies(nngp.layer(2)) ? "C^(2) has a Cholesky factor"
                                                            : "C^(2) singular: symmetric root in both");
}
BENCHMARK(BM_CovarianceFactor)->Arg(0)->Arg(1)->ArgName("symmetric")->Unit(benchmark::kMillisecond);

void BM_TiltedExpectations(benchmark::State& state) {
  const Example& e = example();
  const kc::KernelStack nngp = kt::nngp_kernels(e.spec, e.data.inputs, e.fb.pair_tolerance);
  const Eigen::Index P = e.data.size();
  // A tilt of the size FB produces: the output tilt (A yyᵀA − A)/(2N) at the NNGP kernel.
  const Eigen::MatrixXd A = (nngp.layer(4) + e.spec.kappa * Eigen::MatrixXd::Identity(P, P)).inverse();
  const Eigen::MatrixXd Ay = A * e.data.targets;
  const Eigen::MatrixXd tilt = (Ay * Ay.transpose() - A) / (2.0 * static_cast<double>(e.spec.width(3)));
  const kt::GaussianPoints draws = kt::tilted_base_draws(e.fb.seed, 3, e.fb.importance_samples, P);
  kt::PointEstimateOptions options{.gradient_form = e.fb.gradient_form, .exact_first_order = e.fb.exact_first_order};
  options.root = root_kind(state);
  omp_set_num_threads(1);
  for (auto _ : state)
    benchmark::DoNotOptimize(
        kt::point_set_tilted_expectations(e.spec.activation, e.spec.g(3), nngp.layer(2), tilt, draws, options));
  state.SetLabel("S = " + std::to_string(e.fb.importance_samples) + " draws");
}
BENCHMARK(BM_TiltedExpectations)->Arg(0)->Arg(1)->ArgName("symmetric")->Unit(benchmark::kMillisecond);

void BM_NngpKernels(benchmark::State& state) {
  const Example& e = example();
  const Eigen::MatrixXd X = kt::augmented_inputs(e.data, e.data.inputs.topRows(4));
  for (auto _ : state)
    benchmark::DoNotOptimize(kt::nngp_kernels(e.spec, X, e.config.theory.quadrature_tolerance));
}
BENCHMARK(BM_NngpKernels)->Unit(benchmark::kMillisecond);

void BM_OperatorOneLoop(benchmark::State& state) {
  const Example& e = example();
  const Eigen::MatrixXd X = kt::augmented_inputs(e.data, e.data.inputs.topRows(4));  // P + T = 260
  for (auto _ : state)
    benchmark::DoNotOptimize(
        kt::operator_one_loop(e.spec, X, e.data.targets, e.config.theory, e.config.run.seed));
}
BENCHMARK(BM_OperatorOneLoop)->Unit(benchmark::kSecond)->Iterations(1)->MeasureProcessCPUTime();

void BM_FbSolve(benchmark::State& state) {
  const Example& e = example();
  kt::FbSettings settings = e.fb;
  settings.estimate_errors = state.range(0) != 0;
  int sweeps = 0;
  for (auto _ : state) sweeps = kt::solve_fb(e.spec, e.data, settings).iterations;
  state.SetLabel(std::to_string(sweeps) + " sweeps, S = " + std::to_string(settings.importance_samples));
}
BENCHMARK(BM_FbSolve)->Arg(0)->Arg(1)->ArgName("errors")->Unit(benchmark::kSecond)->Iterations(1)->MeasureProcessCPUTime();

}  // namespace

KERNELMC_BENCHMARK_MAIN();
