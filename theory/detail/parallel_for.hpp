#pragma once
// A parallel loop over independent items for theory/ (STYLE.md §4, §6): every item writes
// its own result slot, so the output does not depend on the number of threads, and no
// exception escapes the OpenMP region (the one of the lowest index is rethrown after it).
#include <Eigen/Core>
#include <exception>
#include <vector>

namespace kernelmc::theory::detail {

template <class Body>
void parallel_for(Eigen::Index n, const Body& body) {
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
#pragma omp parallel for schedule(dynamic)
  for (Eigen::Index i = 0; i < n; ++i) {
    try {
      body(i);
    } catch (...) {
      errors[static_cast<std::size_t>(i)] = std::current_exception();
    }
  }
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace kernelmc::theory::detail
