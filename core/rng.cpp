#include "core/rng.hpp"

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_01.hpp>

namespace kernelmc::core {

namespace {

// splitmix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mix.
std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Chains the ids through the mix so that every id changes every output word.
std::uint64_t hash_ids(std::uint64_t salt, std::uint64_t seed, std::uint64_t purpose,
                       std::uint64_t width, std::uint64_t index) {
  std::uint64_t h = mix64(salt);
  for (std::uint64_t id : {seed, purpose, width, index}) h = mix64(h ^ id);
  return h;
}

pcg_extras::pcg128_t make_128(std::uint64_t hi, std::uint64_t lo) {
  return (static_cast<pcg_extras::pcg128_t>(hi) << 64) | lo;
}

}  // namespace

Engine make_stream(std::uint64_t seed, StreamPurpose purpose, std::uint64_t width,
                   std::uint64_t index) {
  const auto p = static_cast<std::uint64_t>(purpose);
  // Four independent salts give the 128-bit state and the 128-bit stream selector.
  const pcg_extras::pcg128_t state =
      make_128(hash_ids(1, seed, p, width, index), hash_ids(2, seed, p, width, index));
  const pcg_extras::pcg128_t stream =
      make_128(hash_ids(3, seed, p, width, index), hash_ids(4, seed, p, width, index));
  return Engine(state, stream);
}

void fill_standard_normal(Engine& engine, Eigen::Ref<Eigen::MatrixXd> out) {
  boost::random::normal_distribution<double> normal(0.0, 1.0);
  for (Eigen::Index j = 0; j < out.cols(); ++j) {
    for (Eigen::Index i = 0; i < out.rows(); ++i) out(i, j) = normal(engine);
  }
}

Eigen::MatrixXd standard_normal_matrix(Engine& engine, Eigen::Index rows, Eigen::Index cols) {
  Eigen::MatrixXd out(rows, cols);
  fill_standard_normal(engine, out);
  return out;
}

double uniform01(Engine& engine) {
  boost::random::uniform_01<double> u;
  return u(engine);
}

}  // namespace kernelmc::core
