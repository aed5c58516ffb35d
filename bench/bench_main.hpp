#pragma once
// The main() of every bench binary: Google Benchmark's, with the build beside every
// figure (KERNELMC_ARCH and what it resolved to, compiler, flags, Eigen's SIMD sets, the
// activations' vector library, the BLAS) in the benchmark context, so the JSON and console output
// name the ISA the numbers came from.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <string>

#include "core/activation.hpp"
#include "core/version.hpp"

namespace kernelmc::bench {

inline void add_build_context() {
  benchmark::AddCustomContext("kernelmc_arch", kBuildArch);
  benchmark::AddCustomContext("kernelmc_compiler", kBuildCompiler);
  benchmark::AddCustomContext("kernelmc_flags", kBuildFlags);
  benchmark::AddCustomContext("eigen_simd", Eigen::SimdInstructionSetsInUse());
  benchmark::AddCustomContext("activation_math", std::string(core::activation_math_library()));
  benchmark::AddCustomContext("kernelmc_blas", kBuildBlas);
}

}  // namespace kernelmc::bench

#define KERNELMC_BENCHMARK_MAIN()                                         \
  int main(int argc, char** argv) {                                       \
    kernelmc::bench::add_build_context();                                 \
    benchmark::Initialize(&argc, argv);                                   \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;     \
    benchmark::RunSpecifiedBenchmarks();                                  \
    benchmark::Shutdown();                                                \
    return 0;                                                             \
  }
