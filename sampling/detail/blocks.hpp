#pragma once
// The fixed partition of a large dimension (the P rows of a batch, the N neurons of a
// layer) into blocks that a chain's threads share: blocks of kBlockSize when the extent
// is at least kMinBlockedExtent, one block otherwise. The partition depends on the extent
// only, never on the thread count, and every block writes its own part of the output
// (no sums across blocks), so results are bit-identical for any number of threads.
// Blocking has a price on one thread: each block's product packs the shared operand again
// (measured with bench_gradient, one thread, full gradient at (P, N) = (1024, 512): about
// 12 % slower with blocks of 256, 17 % with blocks of 128), so only extents of 512 and more
// are split, in blocks of 256.
#include <Eigen/Core>
#include <algorithm>

namespace kernelmc::sampling::detail {

inline constexpr Eigen::Index kBlockSize = 256;
inline constexpr Eigen::Index kMinBlockedExtent = 512;

inline Eigen::Index block_count(Eigen::Index extent) {
  return extent < kMinBlockedExtent ? 1 : (extent + kBlockSize - 1) / kBlockSize;
}

// Calls body(start, length) for every block of [0, extent), on up to `threads` threads
// (OpenMP, static schedule; serially when threads ≤ 1 or there is one block).
template <class Body>
void for_each_block(Eigen::Index extent, int threads, const Body& body) {
  const Eigen::Index count = block_count(extent);
  if (count == 1) {
    body(Eigen::Index{0}, extent);
    return;
  }
#pragma omp parallel for num_threads(std::max(1, threads)) schedule(static) if (threads > 1)
  for (Eigen::Index b = 0; b < count; ++b) {
    const Eigen::Index start = b * kBlockSize;
    body(start, std::min(kBlockSize, extent - start));
  }
}

}  // namespace kernelmc::sampling::detail
