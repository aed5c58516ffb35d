// Threads inside one chain (sampling/detail/blocks.hpp, sampling/detail/threads.hpp): the
// potentials split their products into fixed blocks of rows and neurons, so a gradient and
// a whole chain are bit-identical for 1, 2 and 3 threads. The shapes are large enough that
// the blocks exist (P = 600 and N_L = 520: blocks of 256, 256 and 88 rows; 256, 256 and 8
// neurons), with a last block shorter than the others.
#include <gtest/gtest.h>
#include <omp.h>

#include <vector>

#include "core/rng.hpp"
#include "sampling/chain_runner.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/detail/blocks.hpp"
#include "sampling/detail/threads.hpp"
#include "sampling/full_posterior.hpp"

namespace kernelmc::sampling {
namespace {

core::Dataset make_data(Eigen::Index points, Eigen::Index inputs, Eigen::Index outputs) {
  core::Engine engine = core::make_stream(71, core::StreamPurpose::test, 0, 0);
  core::Dataset data;
  data.inputs = core::standard_normal_matrix(engine, points, inputs);
  data.targets = core::standard_normal_matrix(engine, points, outputs);
  return data;
}

core::ModelSpec make_spec(Eigen::Index width, double bias_variance) {
  core::ModelSpec spec = core::uniform_model(3, 2, width, core::Activation::tanh, 1.3, bias_variance, 0.7);
  spec.output_dim = 2;
  return spec;
}

// Value and gradient of `potential` at a fixed θ with `threads` threads.
template <class PotentialT>
std::pair<double, Eigen::VectorXd> evaluate(PotentialT& potential, int threads) {
  core::Engine engine = core::make_stream(72, core::StreamPurpose::test, 0, 0);
  const Eigen::VectorXd q = core::standard_normal_matrix(engine, potential.dimension(), 1);
  potential.set_threads(threads);
  Eigen::VectorXd gradient(potential.dimension());
  const double U = potential.value_and_gradient(q, gradient);
  return {U, gradient};
}

template <class PotentialT>
void expect_thread_count_independent(PotentialT& potential) {
  const auto [u1, g1] = evaluate(potential, 1);
  for (int threads : {2, 3}) {
    const auto [u, g] = evaluate(potential, threads);
    EXPECT_EQ(u, u1) << threads << " threads";
    EXPECT_TRUE(g.cwiseEqual(g1).all()) << threads << " threads: max difference " << (g - g1).cwiseAbs().maxCoeff();
  }
  EXPECT_TRUE(g1.allFinite());
}

TEST(IntraChainThreads, BlocksAreFixedByTheExtentOnly) {
  EXPECT_EQ(detail::block_count(511), 1);
  EXPECT_EQ(detail::block_count(512), 2);
  EXPECT_EQ(detail::block_count(600), 3);
  std::vector<std::pair<Eigen::Index, Eigen::Index>> blocks(3);
  detail::for_each_block(600, 2, [&](Eigen::Index start, Eigen::Index length) {
    blocks[static_cast<std::size_t>(start / detail::kBlockSize)] = {start, length};
  });
  EXPECT_EQ(blocks, (std::vector<std::pair<Eigen::Index, Eigen::Index>>{{0, 256}, {256, 256}, {512, 88}}));
}

TEST(IntraChainThreads, FullGradientIsBitIdenticalForOneTwoAndThreeThreads) {
  FullPosterior potential(make_spec(520, 0.2), make_data(600, 3, 2));
  expect_thread_count_independent(potential);
}

TEST(IntraChainThreads, CollapsedGradientIsBitIdenticalForOneTwoAndThreeThreads) {
  CollapsedPosterior feature_form(make_spec(520, 0.2), make_data(600, 3, 2));
  ASSERT_TRUE(feature_form.uses_feature_form());
  expect_thread_count_independent(feature_form);
  CollapsedPosterior kernel_form(make_spec(520, 0.0), make_data(600, 3, 2));
  kernel_form.set_solve_form(CollapsedPosterior::SolveForm::kernel);
  expect_thread_count_independent(kernel_form);
}

// Restores the process-wide settings when a test ends.
class ThreadSettings {
 public:
  ThreadSettings() : saved_(omp_get_max_threads()) {}
  ~ThreadSettings() {
    omp_set_num_threads(saved_);
    set_threads_per_chain(0);
  }

 private:
  int saved_;
};

class LastDraw final : public DrawRecorder {
 public:
  void record(Eigen::Index, const Eigen::Ref<const Eigen::VectorXd>& theta) override { last = theta; }
  Eigen::VectorXd last;
};

TEST(IntraChainThreads, HmcChainIsBitIdenticalForOneTwoAndThreeThreadsPerChain) {
  const ThreadSettings restore;
  const FullPosterior posterior(make_spec(12, 0.2), make_data(600, 3, 2));
  SamplerSettings sampler;
  sampler.kind = core::SamplerKind::hmc;
  sampler.step_size = 0.05;
  sampler.integration_time = 0.25;
  sampler.adapt_init_buffer = 10;
  sampler.adapt_term_buffer = 5;
  sampler.adapt_base_window = 10;
  const ChainSettings settings{.chains = 1, .warmup = 25, .draws = 25, .seed = 13, .stream_width = 12};
  auto run = [&](int threads) {
    omp_set_num_threads(3);
    set_threads_per_chain(threads);
    LastDraw recorder;
    std::vector<ChainResult> results = run_chains(posterior, sampler, settings, {&recorder});
    return std::make_pair(results.front(), recorder.last);
  };
  const auto [one, one_last] = run(1);
  EXPECT_GT(one.gradient_evaluations, 50);
  for (int threads : {2, 3}) {
    const auto [r, last] = run(threads);
    EXPECT_EQ(r.energy, one.energy) << threads << " threads";
    EXPECT_EQ(r.accept_stat, one.accept_stat);
    EXPECT_EQ(r.step_size, one.step_size);
    EXPECT_EQ(r.inverse_mass, one.inverse_mass);
    EXPECT_TRUE(last.cwiseEqual(one_last).all());
  }
}

TEST(IntraChainThreads, AutomaticSplitsTheThreadsOverTheChainsAndIsOneInsideAParallelRegion) {
  const ThreadSettings restore;
  omp_set_num_threads(4);
  set_threads_per_chain(0);
  EXPECT_EQ(threads_per_chain(1), 4);
  EXPECT_EQ(threads_per_chain(2), 2);
  EXPECT_EQ(threads_per_chain(8), 1);
  set_threads_per_chain(3);
  EXPECT_EQ(threads_per_chain(8), 3);
  int inside = 0;
#pragma omp parallel num_threads(2)
  {
#pragma omp master
    inside = threads_per_chain(1);
  }
  EXPECT_EQ(inside, 1);
}

}  // namespace
}  // namespace kernelmc::sampling
