// The elementwise activations over a whole P×N matrix, by each route, in the same run:
// Eigen's own expression (for double, Eigen 3.4 vectorises exp but evaluates erf and tanh
// entry by entry through libm) and core::apply_activation / multiply_by_activation_derivative
// (glibc's libmvec vector functions, the route the samplers use). Counter: entries/s.
// (SLEEF 3.5's u10 functions were measured too, and were slower than libmvec: the figures
// are in core/activation.cpp.)
//
// Run: build/<dir>/bench/bench_activation [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include "bench/bench_main.hpp"

#include <Eigen/Core>
#include <cmath>
#include <numbers>

#include "core/activation.hpp"
#include "core/rng.hpp"

namespace {

using kernelmc::core::Activation;

constexpr double kTwoOverSqrtPi = 2.0 * std::numbers::inv_sqrtpi;

// Preactivations of unit-ish scale, like a network's at initialisation.
Eigen::MatrixXd preactivations(const benchmark::State& state) {
  kernelmc::core::Engine engine = kernelmc::core::make_stream(4, kernelmc::core::StreamPurpose::test, 0, 0);
  return 1.5 * kernelmc::core::standard_normal_matrix(engine, state.range(0), state.range(1));
}

void set_counters(benchmark::State& state, const Eigen::MatrixXd& h) {
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(state.iterations() * h.size()),
                                                   benchmark::Counter::kIsRate);
}

template <class F>
void run(benchmark::State& state, F f) {
  const Eigen::MatrixXd h = preactivations(state);
  Eigen::MatrixXd out(h.rows(), h.cols());
  for (auto _ : state) {
    f(h, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, h);
}

void BM_ErfEigenScalar(benchmark::State& state) {
  run(state, [](const Eigen::MatrixXd& h, Eigen::MatrixXd& out) { out = h.unaryExpr([](double x) { return std::erf(x); }); });
}
void BM_TanhEigenScalar(benchmark::State& state) {
  run(state, [](const Eigen::MatrixXd& h, Eigen::MatrixXd& out) { out = h.array().tanh().matrix(); });
}
void BM_ErfDerivativeEigenPacketExp(benchmark::State& state) {
  run(state, [](const Eigen::MatrixXd& h, Eigen::MatrixXd& out) {
    out.array() = kTwoOverSqrtPi * (-h.array().square()).exp();
  });
}
void BM_ErfKernelmc(benchmark::State& state) {
  run(state, [](const Eigen::MatrixXd& h, Eigen::MatrixXd& out) { kernelmc::core::apply_activation(Activation::erf, h, out); });
}
void BM_TanhKernelmc(benchmark::State& state) {
  run(state, [](const Eigen::MatrixXd& h, Eigen::MatrixXd& out) { kernelmc::core::apply_activation(Activation::tanh, h, out); });
}
void BM_ErfDerivativeKernelmc(benchmark::State& state) {
  run(state, [](const Eigen::MatrixXd& h, Eigen::MatrixXd& out) {
    out.setOnes();
    kernelmc::core::multiply_by_activation_derivative(Activation::erf, h, h, out);
  });
}


// P×N = 256×256 (a hidden layer of the second bench_gradient shape) and 4×64 (Config B).
void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"P", "N"});
  b->Args({256, 256});
  b->Args({4, 64});
}

BENCHMARK(BM_ErfEigenScalar)->Apply(shapes);
BENCHMARK(BM_ErfKernelmc)->Apply(shapes);
BENCHMARK(BM_TanhEigenScalar)->Apply(shapes);
BENCHMARK(BM_TanhKernelmc)->Apply(shapes);
BENCHMARK(BM_ErfDerivativeEigenPacketExp)->Apply(shapes);
BENCHMARK(BM_ErfDerivativeKernelmc)->Apply(shapes);

}  // namespace

KERNELMC_BENCHMARK_MAIN()
