#pragma once
// Helpers for statistical tests (STYLE.md §7): every tolerance is a number of standard
// errors, and a failure prints the estimate, the expectation, the SE and z.
#include <gtest/gtest.h>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

namespace kernelmc::testing {

// Two-sided z for a family-wise false-fail rate `alpha` over `comparisons` tests
// (Bonferroni): Φ⁻¹(1 − alpha / (2·comparisons)).
inline double bonferroni_z(double alpha, int comparisons) {
  const boost::math::normal standard;
  return boost::math::quantile(boost::math::complement(standard, alpha / (2.0 * comparisons)));
}

// Two-sided Student-t quantile for a standard error estimated from `batches` batch means
// (ν = batches − 1 degrees of freedom), Bonferroni over `comparisons` entries at the
// family-wise false-fail rate `family_alpha`: t_ν⁻¹(1 − family_alpha / (2·comparisons)).
// (estimate − truth)/SE is t_ν when the batch means are i.i.d. normal; a normal quantile
// instead understates the false-fail rate 10–40× at ν = 19..39.
inline double t_tolerance(long long batches, double family_alpha, long long comparisons = 1) {
  const boost::math::students_t t(static_cast<double>(batches - 1));
  return boost::math::quantile(
      boost::math::complement(t, family_alpha / (2.0 * static_cast<double>(comparisons))));
}

// The base seed of a statistical test. Without the environment variable KERNELMC_TEST_SEED
// it is `fixed` (the default run is reproducible); with KERNELMC_TEST_SEED=s it is a
// fresh seed mixed from (s, fixed) by SplitMix64, so scripts/rerun-statistical.sh can
// rerun the label under independent seeds and count the failures.
inline std::uint64_t test_seed(std::uint64_t fixed) {
  const char* env = std::getenv("KERNELMC_TEST_SEED");
  if (env == nullptr || *env == '\0') return fixed;
  auto splitmix = [](std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  };
  // 63 bits: run.seed must be at most 2^63 − 1 (a TOML integer), and tests pass seeds there.
  return splitmix(splitmix(std::strtoull(env, nullptr, 10)) ^ fixed) >> 1;
}

// Passes if |estimate − expected| ≤ z·se (+ extra, an asymptotic allowance that the
// caller justifies in a comment).
inline ::testing::AssertionResult WithinStandardErrors(double estimate, double expected, double se,
                                                       double z, double extra = 0.0) {
  const double diff = estimate - expected;
  const double bound = z * se + extra;
  std::ostringstream msg;
  msg << "estimate " << estimate << ", expected " << expected << ", SE " << se
      << ", z = " << (se > 0 ? diff / se : INFINITY) << ", bound |diff| <= " << z << " SE"
      << (extra > 0 ? " + " + std::to_string(extra) : std::string()) << " = " << bound;
  if (std::isfinite(diff) && std::isfinite(bound) && std::abs(diff) <= bound)
    return ::testing::AssertionSuccess() << msg.str();
  return ::testing::AssertionFailure() << msg.str();
}

}  // namespace kernelmc::testing
