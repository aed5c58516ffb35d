#pragma once
// How many threads one chain's potential evaluations get (its row and neuron blocks,
// sampling/detail/blocks.hpp): the process-wide [run] threads_per_chain, set once by the
// command line (0 = automatic). Results never depend on it.
#include <Eigen/Core>

namespace kernelmc::sampling {

// Sets the [run] threads_per_chain value (0 = automatic; negative values count as 0).
void set_threads_per_chain(int threads);

// The threads each of `chains` chains run on: the value set, or automatically
// max(1, omp_get_max_threads() / chains). Inside an active parallel region (chains run
// from a study's units, themselves in parallel) always 1: the outer loop has the cores.
int threads_per_chain(Eigen::Index chains);

}  // namespace kernelmc::sampling
