#pragma once
// Random-number streams (STYLE.md §6). One engine type, one way to make an engine:
// make_stream(seed, purpose, width, index) hashes the ids into the PCG state and its
// stream selector, so every unit of work (network m, chain c, replicate b) owns a
// stream that depends on its ids only, never on the thread that runs it.
#include <Eigen/Core>
#include <cstdint>
#include <pcg_random.hpp>

namespace kernelmc::core {

using Engine = pcg64;  // PCG XSL-RR 128/64, selectable stream (O'Neill 2014)

// Version of the derivation in make_stream; recorded in every result file.
inline constexpr int kStreamDerivationVersion = 1;

// Fixed values: result files depend on them. Never renumber; only append.
enum class StreamPurpose : std::uint64_t {
  prior_network = 1,   // exact prior draw of one network (index = network)
  chain_init = 2,      // initial point of an MCMC chain (index = chain)
  chain_momentum = 3,  // momenta, accept/reject and noise of a chain (index = chain)
  readout_draw = 4,    // exact readout draws given hidden parameters (index = chain)
  tilted_mc = 5,       // importance-sampling draws of tilted expectations
  bootstrap = 6,       // bootstrap replicates (index = replicate)
  dataset = 7,         // generated data sets (XOR noise, teacher network)
  four_point_mc = 8,   // Monte Carlo 4-point functions for V (index = layer)
  sbc = 9,             // simulation-based calibration replicates (index = replicate)
  test = 10,           // unit tests that need draws of their own
  smc_particle = 11,   // initial draw and rejuvenation moves of one SMC particle slot
                       // (index = replicate · particles + slot)
  smc_resampling = 12, // the resampling uniforms of one SMC run (index = replicate)
};

// The engine for (seed, purpose, width, index). Distinct id tuples give distinct,
// statistically independent streams (state and increment both hashed with splitmix64).
Engine make_stream(std::uint64_t seed, StreamPurpose purpose, std::uint64_t width,
                   std::uint64_t index);

// Fills `out` with i.i.d. N(0, 1) draws (Boost.Random ziggurat), column by column.
void fill_standard_normal(Engine& engine, Eigen::Ref<Eigen::MatrixXd> out);

// A rows×cols matrix of i.i.d. N(0, 1) draws.
Eigen::MatrixXd standard_normal_matrix(Engine& engine, Eigen::Index rows, Eigen::Index cols);

// One U(0, 1) draw (Boost.Random), for Metropolis tests.
double uniform01(Engine& engine);

}  // namespace kernelmc::core
