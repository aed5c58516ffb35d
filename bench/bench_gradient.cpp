// One gradient evaluation of the full (THEORY.md §1.4) and collapsed (§1.5) posterior
// potentials, beside plain products of the dominant shapes measured in the same run, each
// by Eigen and by the build's BLAS (OpenBLAS dgemm, cmake/KernelmcBlas.cmake; skipped with
// a message when the build has none): P×N times N×N (every hidden layer, forward and
// backward) and P×N times N×P (the output kernel and AΦ of the collapsed kernel form). The
// ceiling is the faster of the two engines' P×N·N×N; the fraction of it is the
// gradient's GFLOP/s over the ceiling's.
//
// Shapes (P, d, N, L): (64,16,128,2), (256,16,256,3), (1024,32,512,3), (128,16,1024,2);
// erf, g = 1, σ_b² = 0, κ = 1, D = 1. Counters: gradients/s, and GFLOP/s of the counted
// matrix-product flops (elementwise φ, φ' are not counted):
//   full:      forward 2PdN + 2(L−1)PN² + 2PND, backward 2PdN + 4(L−1)PN² + 4PND;
//   collapsed: hidden forward and backward as above, plus, in the kernel form (P ≤ N),
//              the output kernel P²N (rank update, half of ΦΦᵀ), Cholesky P³/3, solves
//              2P²N (AΦ) + 2P²D (AY); in the feature form (P > N), Φᵀ Φ PN² (rank update),
//              Cholesky N³/3, solves 2PN² (AΦ = ΦM⁻¹) + 4PND + 2N²D (μ, AY); both
//              4PND for (AY)((AY)ᵀΦ).
// The …TwoThreads rows split the products into the fixed blocks of sampling/detail/blocks.hpp
// (extents ≥ 512 only) on 2 threads; they and the …/real_time rows are wall-clock rates.
// Run: build/<dir>/bench/bench_gradient [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include "bench/bench_main.hpp"

#include "core/dataset.hpp"
#include "core/model_spec.hpp"
#include "core/rng.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/detail/gemm.hpp"
#include "sampling/full_posterior.hpp"

namespace {

using namespace kernelmc;

struct Shape {
  Eigen::Index P, d, N, L;
  explicit Shape(const benchmark::State& state)
      : P(state.range(0)), d(state.range(1)), N(state.range(2)), L(state.range(3)) {}
};

constexpr Eigen::Index kOutputs = 1;  // D

core::ModelSpec bench_model(const Shape& s) {
  core::ModelSpec spec = core::uniform_model(s.d, s.L, s.N, core::Activation::erf, 1.0, 0.0, 1.0);
  spec.output_dim = kOutputs;
  return spec;
}

core::Dataset bench_data(const Shape& s) {
  core::Engine engine = core::make_stream(1, core::StreamPurpose::test, 0, 0);
  core::Dataset data;
  data.inputs = core::standard_normal_matrix(engine, s.P, s.d);
  data.targets = core::standard_normal_matrix(engine, s.P, kOutputs);
  return data;
}

double hidden_flops(const Shape& s) {
  const double P = static_cast<double>(s.P), d = static_cast<double>(s.d), N = static_cast<double>(s.N);
  const double L = static_cast<double>(s.L);
  // Forward 2PdN + 2(L−1)PN²; backward 2PdN (∂W_0) + 4(L−1)PN² (∂W_l and ∂Φ_l).
  return 4.0 * P * d * N + 6.0 * (L - 1.0) * P * N * N;
}

double full_flops(const Shape& s) {
  const double P = static_cast<double>(s.P), N = static_cast<double>(s.N), D = kOutputs;
  return hidden_flops(s) + 6.0 * P * N * D;
}

double collapsed_flops(const Shape& s) {
  const double P = static_cast<double>(s.P), N = static_cast<double>(s.N), D = kOutputs;
  const double solve = s.P > s.N ? P * N * N + N * N * N / 3.0 + 2.0 * P * N * N + 4.0 * P * N * D + 2.0 * N * N * D
                                 : P * P * N + P * P * P / 3.0 + 2.0 * P * P * N + 2.0 * P * P * D;
  return hidden_flops(s) + solve + 4.0 * P * N * D;
}

void set_counters(benchmark::State& state, double flops_per_iteration) {
  const double n = static_cast<double>(state.iterations());
  state.counters["gradients/s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(n * flops_per_iteration * 1e-9, benchmark::Counter::kIsRate);
}

template <class PotentialT>
void run_gradient(benchmark::State& state, double flops, int threads = 1) {
  const Shape s(state);
  PotentialT potential(bench_model(s), bench_data(s));
  potential.set_threads(threads);
  core::Engine engine = core::make_stream(2, core::StreamPurpose::test, 0, 0);
  const Eigen::VectorXd theta = core::standard_normal_matrix(engine, potential.dimension(), 1);
  Eigen::VectorXd gradient(potential.dimension());
  for (auto _ : state) {
    benchmark::DoNotOptimize(potential.value_and_gradient(theta, gradient));
    benchmark::ClobberMemory();
  }
  set_counters(state, flops);
}

void BM_FullGradient(benchmark::State& state) {
  run_gradient<sampling::FullPosterior>(state, full_flops(Shape(state)));
}

void BM_CollapsedGradient(benchmark::State& state) {
  run_gradient<sampling::CollapsedPosterior>(state, collapsed_flops(Shape(state)));
}

// Threads inside one chain (sampling/detail/blocks.hpp): the same gradients on 2 threads,
// timed by the wall clock (a CPU-time rate would count only the calling thread). Compare
// with the one-thread rows of the same run, also by wall clock (…/real_time).
void BM_FullGradientTwoThreads(benchmark::State& state) {
  run_gradient<sampling::FullPosterior>(state, full_flops(Shape(state)), 2);
}

void BM_CollapsedGradientTwoThreads(benchmark::State& state) {
  run_gradient<sampling::CollapsedPosterior>(state, collapsed_flops(Shape(state)), 2);
}

// Baselines: the two dominant product shapes, as plain GEMMs on the same operands' sizes,
// by Eigen or by the BLAS.
template <bool kBlas>
void run_product(benchmark::State& state, Eigen::Index rows, Eigen::Index inner, Eigen::Index cols) {
  if (kBlas && !sampling::detail::has_blas()) {
    state.SkipWithError("no BLAS in this build (KERNELMC_BLAS=OFF or OpenBLAS not found)");
    return;
  }
  core::Engine engine = core::make_stream(3, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd A = core::standard_normal_matrix(engine, rows, inner);
  const Eigen::MatrixXd B = core::standard_normal_matrix(engine, inner, cols);
  Eigen::MatrixXd C(rows, cols);
  using sampling::detail::Op;
  for (auto _ : state) {
    if constexpr (kBlas) {
      sampling::detail::blas_gemm(1.0, A, Op::none, B, Op::none, C);
    } else {
      sampling::detail::eigen_gemm(1.0, A, Op::none, B, Op::none, C);
    }
    benchmark::DoNotOptimize(C.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 2.0 * static_cast<double>(rows * inner * cols) * 1e-9,
      benchmark::Counter::kIsRate);
}

template <bool kBlas>
void BM_ProductPxNtimesNxN(benchmark::State& state) {
  const Shape s(state);
  run_product<kBlas>(state, s.P, s.N, s.N);
}

template <bool kBlas>
void BM_ProductPxNtimesNxP(benchmark::State& state) {
  const Shape s(state);
  run_product<kBlas>(state, s.P, s.N, s.P);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"P", "d", "N", "L"});
  b->Args({64, 16, 128, 2});
  b->Args({256, 16, 256, 3});
  b->Args({1024, 32, 512, 3});
  b->Args({128, 16, 1024, 2});
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_FullGradient)->Apply(shapes);
BENCHMARK(BM_CollapsedGradient)->Apply(shapes);
BENCHMARK(BM_FullGradient)->Apply(shapes)->UseRealTime();
BENCHMARK(BM_FullGradientTwoThreads)->Apply(shapes)->UseRealTime();
BENCHMARK(BM_CollapsedGradient)->Apply(shapes)->UseRealTime();
BENCHMARK(BM_CollapsedGradientTwoThreads)->Apply(shapes)->UseRealTime();
BENCHMARK(BM_ProductPxNtimesNxN<false>)->Name("BM_ProductPxNtimesNxN")->Apply(shapes);
BENCHMARK(BM_ProductPxNtimesNxN<true>)->Name("BM_BlasProductPxNtimesNxN")->Apply(shapes);
BENCHMARK(BM_ProductPxNtimesNxP<false>)->Name("BM_ProductPxNtimesNxP")->Apply(shapes);
BENCHMARK(BM_ProductPxNtimesNxP<true>)->Name("BM_BlasProductPxNtimesNxP")->Apply(shapes);

}  // namespace

KERNELMC_BENCHMARK_MAIN()
