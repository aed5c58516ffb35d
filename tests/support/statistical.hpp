#pragma once
// Helpers for statistical tests (STYLE.md §7): every tolerance is a number of standard
// errors, and a failure prints the estimate, the expectation, the SE and z.
#include <gtest/gtest.h>

#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <sstream>
#include <string>

namespace kernelmc::testing {

// Two-sided z for a family-wise false-fail rate `alpha` over `comparisons` tests
// (Bonferroni): Φ⁻¹(1 − alpha / (2·comparisons)).
inline double bonferroni_z(double alpha, int comparisons) {
  const boost::math::normal standard;
  return boost::math::quantile(boost::math::complement(standard, alpha / (2.0 * comparisons)));
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
