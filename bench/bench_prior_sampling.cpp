// Exact prior sampling (THEORY.md §9.5) against its baselines, measured in the same run:
//  - BM_PriorSampling: sample_prior_statistics on one thread (networks/s, FLOP/s counting
//    R·Z, the rank update and the Cholesky of every layer);
//  - BM_MatrixProductCeiling: per layer a plain Eigen product P×P · P×N and P×N · N×P, the
//    matrix-product ceiling of the same shapes (a sampler at this speed would be pure BLAS);
//  - BM_NormalsAndActivation: per layer P·N standard normals (core::fill_standard_normal)
//    and φ on P×N, the non-matrix floor that no factorisation can avoid.
// Shapes: Config A (P = 3, d = 3, L = 3, N = 16), the main job (XOR P = 8, d = 4, L = 3,
// N ∈ {64, 256}) and a larger P = 64.
#include <benchmark/benchmark.h>
#include <omp.h>

#include "bench/bench_main.hpp"

#include "core/activation.hpp"
#include "core/model_spec.hpp"
#include "core/rng.hpp"
#include "sampling/prior_sampler.hpp"

namespace {

using kernelmc::core::Activation;
using kernelmc::core::Engine;
using kernelmc::core::ModelSpec;
using kernelmc::core::StreamPurpose;

struct Shape {
  Eigen::Index P, d, L, N;
};
Shape shape_of(const benchmark::State& state) {
  return {state.range(0), state.range(1), state.range(2), state.range(3)};
}

// Flops of one network as the sampler does it (prior_sampler.cpp): per layer h = R Z with R
// the weight factor (2·P·r·N, r ≤ P columns) or the Cholesky factor (P²·N triangular, plus
// P³/3 for the factorisation at l ≥ 2), then the rank update (P(P+1)·N).
double sampler_flops(const Shape& s) {  // σ_b = 0: no bias column
  const double P = static_cast<double>(s.P), N = static_cast<double>(s.N);
  double flops = 0.0;
  for (Eigen::Index l = 1; l <= s.L; ++l) {
    const double r = l == 1 ? static_cast<double>(s.d) : N;
    if (r <= P) {
      flops += 2.0 * P * r * N;
    } else {
      flops += P * P * N + (l == 1 ? 0.0 : P * P * P / 3.0);  // C^(1)'s factor is computed once
    }
    flops += P * (P + 1.0) * N;
  }
  return flops;
}

Eigen::MatrixXd inputs_for(const Shape& s) {
  Engine engine = kernelmc::core::make_stream(1, StreamPurpose::test, 0, 0);
  return kernelmc::core::standard_normal_matrix(engine, s.P, s.d);
}

void BM_PriorSampling(benchmark::State& state) {
  const Shape s = shape_of(state);
  omp_set_num_threads(1);
  const ModelSpec spec = kernelmc::core::uniform_model(s.d, s.L, s.N, Activation::erf, 2.0, 0.0, 1.0);
  const Eigen::MatrixXd X = inputs_for(s);
  // 128 networks per call amortise the per-call set-up; covariance tracking as the
  // validation layer uses it (on up to P = 32).
  const Eigen::Index networks = 128;
  kernelmc::sampling::PriorSamplingSettings settings{
      .networks = networks, .batches = 1, .seed = 0, .track_covariance = s.P <= 32};
  for (auto _ : state) {
    benchmark::DoNotOptimize(kernelmc::sampling::sample_prior_statistics(spec, X, settings));
    ++settings.seed;
  }
  const double total = static_cast<double>(networks * state.iterations());
  state.counters["networks/s"] = benchmark::Counter(total, benchmark::Counter::kIsRate);
  state.counters["FLOP/s"] = benchmark::Counter(total * sampler_flops(s), benchmark::Counter::kIsRate);
}

void BM_MatrixProductCeiling(benchmark::State& state) {
  const Shape s = shape_of(state);
  Engine engine = kernelmc::core::make_stream(2, StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd R = kernelmc::core::standard_normal_matrix(engine, s.P, s.P);
  const Eigen::MatrixXd Z = kernelmc::core::standard_normal_matrix(engine, s.P, s.N);
  Eigen::MatrixXd H(s.P, s.N), C(s.P, s.P);
  for (auto _ : state) {
    for (Eigen::Index l = 1; l <= s.L; ++l) {
      H.noalias() = R * Z;                // P×P · P×N
      C.noalias() = H * H.transpose();    // P×N · N×P
      benchmark::DoNotOptimize(C.data());
      benchmark::ClobberMemory();
    }
  }
  const double P = static_cast<double>(s.P), N = static_cast<double>(s.N);
  const double iterations = static_cast<double>(state.iterations());
  state.counters["networks/s"] = benchmark::Counter(iterations, benchmark::Counter::kIsRate);
  state.counters["FLOP/s"] =
      benchmark::Counter(iterations * static_cast<double>(s.L) * 4.0 * P * P * N, benchmark::Counter::kIsRate);
}

void BM_NormalsAndActivation(benchmark::State& state) {
  const Shape s = shape_of(state);
  Engine engine = kernelmc::core::make_stream(3, StreamPurpose::test, 0, 0);
  Eigen::MatrixXd Z(s.P, s.N), Phi(s.P, s.N);
  for (auto _ : state) {
    for (Eigen::Index l = 1; l <= s.L; ++l) {
      kernelmc::core::fill_standard_normal(engine, Z);
      kernelmc::core::apply_activation(Activation::erf, Z, Phi);
      benchmark::DoNotOptimize(Phi.data());
    }
  }
  state.counters["networks/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// {P, d, L, N}
void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"P", "d", "L", "N"});
  b->Args({3, 3, 3, 16});    // Config A
  b->Args({8, 4, 3, 64});    // main job
  b->Args({8, 4, 3, 256});   // main job
  b->Args({64, 4, 3, 256});  // larger P
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_PriorSampling)->Apply(shapes);
BENCHMARK(BM_MatrixProductCeiling)->Apply(shapes);
BENCHMARK(BM_NormalsAndActivation)->Apply(shapes);

}  // namespace

KERNELMC_BENCHMARK_MAIN()
