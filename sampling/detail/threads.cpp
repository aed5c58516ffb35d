#include "sampling/detail/threads.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>

namespace kernelmc::sampling {

namespace {
std::atomic<int> threads_per_chain_setting{0};
}  // namespace

void set_threads_per_chain(int threads) { threads_per_chain_setting.store(std::max(0, threads)); }

int threads_per_chain(Eigen::Index chains) {
  if (omp_in_parallel()) return 1;
  const int set = threads_per_chain_setting.load();
  if (set > 0) return set;
  const auto available = static_cast<Eigen::Index>(omp_get_max_threads());
  return static_cast<int>(std::max<Eigen::Index>(1, available / std::max<Eigen::Index>(1, chains)));
}

}  // namespace kernelmc::sampling
