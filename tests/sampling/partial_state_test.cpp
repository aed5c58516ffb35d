// A unit that saves its partial state at every safe point (core::PartialStateStore, kept in
// memory here) and is continued from any one of those saves ends with the bits of the
// uninterrupted unit: a collapsed chain with its readout completion and kernel observables
// (sampling/chain_runner.hpp), saved in warmup, at its end and in sampling; and an SMC
// posterior (sampling/smc_posterior.hpp), saved between tempering steps and between runs;
// and an importance posterior (sampling/importance_posterior.hpp), saved as blocks finish.
// Saving itself changes nothing, and a save of another chain is refused.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint_io.hpp"
#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "sampling/chain_runner.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/importance_posterior.hpp"
#include "sampling/kernel_observables.hpp"
#include "sampling/smc_posterior.hpp"

namespace kernelmc::sampling {
namespace {

constexpr std::string_view kMagic = "partial\n";

// Keeps every save; continues from save `resume_from` when set.
class MemoryStore final : public core::PartialStateStore {
 public:
  std::optional<core::BinaryReader> load() override {
    if (!resume_from) return std::nullopt;
    return core::BinaryReader(saves.at(*resume_from), kMagic, "save " + std::to_string(*resume_from));
  }
  bool due() override { return true; }
  void save(const core::BinaryWriter& state) override { saves.push_back(state.framed(kMagic)); }

  std::vector<std::string> saves;
  std::optional<std::size_t> resume_from;
};

core::ModelSpec small_model(double kappa) { return core::uniform_model(3, 2, 4, core::Activation::erf, 2.0, 0.0, kappa); }

// One collapsed chain with a readout completion in front of its observables.
struct ChainRun {
  ChainResult result;
  std::vector<Eigen::MatrixXd> observables;
};

const ChainSettings kChain{.chains = 1, .warmup = 60, .draws = 40, .thin = 2, .seed = 11, .stream_width = 4,
                           .first_chain = 1};

ChainRun run_chain(MemoryStore* store) {
  const core::Dataset data = core::config_b_dataset();
  const CollapsedPosterior posterior(small_model(1.0), data);
  KernelObservables observables(small_model(1.0), data,
                                {.draws = kChain.draws, .batches = 4, .keep_entry_draws = true, .record_output = true});
  ReadoutCompletion completion(posterior, kChain, kChain.first_chain, observables);
  SamplerSettings sampler;
  sampler.metric = MetricKind::diagonal;
  ChainRun run;
  run.result = run_chains(posterior, sampler, kChain, {&completion}, {}, {store}).front();
  run.observables = observables.state();
  return run;
}

void expect_same_chain(const ChainRun& a, const ChainRun& b, const std::string& what) {
  EXPECT_TRUE(a.result.energy == b.result.energy) << what;
  EXPECT_TRUE(a.result.accept_stat == b.result.accept_stat) << what;
  EXPECT_TRUE(a.result.n_leapfrog == b.result.n_leapfrog) << what;
  EXPECT_EQ(a.result.mean_accept_stat, b.result.mean_accept_stat) << what;
  EXPECT_EQ(a.result.step_size, b.result.step_size) << what;
  EXPECT_TRUE(a.result.inverse_mass == b.result.inverse_mass) << what;
  EXPECT_EQ(a.result.gradient_evaluations, b.result.gradient_evaluations) << what;
  EXPECT_EQ(a.result.sampling_transitions, b.result.sampling_transitions) << what;
  ASSERT_EQ(a.observables.size(), b.observables.size()) << what;
  for (std::size_t i = 0; i < a.observables.size(); ++i)
    EXPECT_TRUE(a.observables[i] == b.observables[i]) << what << ": observables array " << i;
}

TEST(PartialState, ChainContinuedFromAnySaveEndsBitIdentically) {
  const ChainRun straight = run_chain(nullptr);
  MemoryStore store;
  const ChainRun saving = run_chain(&store);
  expect_same_chain(straight, saving, "a chain that saves");
  // A save after each warmup transition and after each kept draw but the last.
  ASSERT_EQ(store.saves.size(), static_cast<std::size_t>(kChain.warmup + kChain.draws - 1));
  // In warmup (inside the initial buffer and later), after its last transition, in sampling.
  for (const std::size_t from : {0, 17, 45, 59, 60, 80, 98}) {
    store.resume_from = from;
    MemoryStore continuing = store;
    expect_same_chain(straight, run_chain(&continuing), "continued from save " + std::to_string(from));
  }
}

TEST(PartialState, ASaveOfAnotherChainIsRefused) {
  MemoryStore store;
  run_chain(&store);
  store.resume_from = 10;
  const core::Dataset data = core::config_b_dataset();
  const CollapsedPosterior posterior(small_model(1.0), data);
  KernelObservables observables(small_model(1.0), data, {.draws = kChain.draws, .batches = 4});
  ChainSettings other = kChain;
  other.first_chain = 2;
  try {
    run_chains(posterior, SamplerSettings{}, other, {&observables}, {}, {&store});
    ADD_FAILURE() << "accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("save 10: holds chain 1, not 2"), std::string::npos) << e.what();
  }
}

SmcPosteriorSettings small_smc() {
  SmcPosteriorSettings s;
  s.smc.particles = 48;
  s.smc.rejuvenation_steps = 2;
  s.smc.seed = 3;
  s.smc.stream_width = 4;
  s.replicates = 3;
  return s;
}

void expect_same_smc(const SmcPosterior& a, const SmcPosterior& b, const std::string& what) {
  EXPECT_TRUE(a.replicate_log_evidences == b.replicate_log_evidences) << what;
  EXPECT_EQ(a.log_evidence, b.log_evidence) << what;
  EXPECT_EQ(a.mean_acceptance, b.mean_acceptance) << what;
  ASSERT_EQ(a.schedules.size(), b.schedules.size()) << what;
  for (std::size_t r = 0; r < a.schedules.size(); ++r) {
    ASSERT_EQ(a.schedules[r].size(), b.schedules[r].size()) << what;
    for (std::size_t t = 0; t < a.schedules[r].size(); ++t) EXPECT_EQ(a.schedules[r][t].beta, b.schedules[r][t].beta);
    for (Eigen::Index l = 1; l <= 3; ++l) {
      EXPECT_TRUE(a.kernels.prior_replicates[r].layer(l) == b.kernels.prior_replicates[r].layer(l)) << what;
      EXPECT_TRUE(a.kernels.posterior_replicates[r].layer(l) == b.kernels.posterior_replicates[r].layer(l)) << what;
    }
  }
}

TEST(PartialState, SmcContinuedFromAnySaveEndsBitIdentically) {
  const core::Dataset data = core::config_b_dataset();
  const core::ModelSpec spec = small_model(0.01);  // a sharp likelihood: several tempering steps
  const SmcPosterior straight = run_smc_posterior(spec, data, small_smc());
  MemoryStore store;
  expect_same_smc(straight, run_smc_posterior(spec, data, small_smc(), &store), "an SMC posterior that saves");
  std::size_t steps = 0;
  for (const std::vector<SmcStepInfo>& schedule : straight.schedules) steps += schedule.size();
  // A save after every step but each run's last, and after every run but the last.
  ASSERT_GT(steps, 2 * straight.schedules.size()) << "a run with several steps";
  ASSERT_EQ(store.saves.size(), steps - 1);
  // The first and the last save, and four between (steps inside a run and runs' ends among them).
  const std::size_t n = store.saves.size();
  for (const std::size_t from : {std::size_t{0}, n / 5, 2 * n / 5, 3 * n / 5, 4 * n / 5, n - 1}) {
    MemoryStore continuing = store;
    continuing.resume_from = from;
    expect_same_smc(straight, run_smc_posterior(spec, data, small_smc(), &continuing),
                    "continued from save " + std::to_string(from));
  }
}

TEST(PartialState, ImportanceContinuedFromAnySaveEndsBitIdentically) {
  // Blocks are saved as they finish (all but the last): continued from any save, the run
  // computes only the missing blocks and ends with the uninterrupted run's bits. Two threads
  // run the blocks, so blocks finish in any order.
  const core::Dataset data = core::config_b_dataset();
  const core::ModelSpec spec = small_model(0.5);
  const ImportanceSettings settings{.networks = 400, .batches = 8, .seed = 17};
  const ImportancePosterior straight = run_importance_posterior(spec, data, settings);
  MemoryStore store;
  const ImportancePosterior saving = run_importance_posterior(spec, data, settings, &store);
  EXPECT_TRUE(saving.log_weights == straight.log_weights);
  ASSERT_EQ(store.saves.size(), 7u);
  for (const std::size_t from : {std::size_t{0}, std::size_t{3}, std::size_t{6}}) {
    MemoryStore continuing = store;
    continuing.resume_from = from;
    const ImportancePosterior again = run_importance_posterior(spec, data, settings, &continuing);
    const std::string what = "continued from save " + std::to_string(from);
    EXPECT_TRUE(again.log_weights == straight.log_weights) << what;
    EXPECT_EQ(again.log_evidence, straight.log_evidence) << what;
    for (Eigen::Index l = 1; l <= 3; ++l) {
      EXPECT_TRUE(again.kernels.posterior_mean.layer(l) == straight.kernels.posterior_mean.layer(l)) << what;
      EXPECT_TRUE(again.kernels.prior_mean.layer(l) == straight.kernels.prior_mean.layer(l)) << what;
      for (std::size_t r = 0; r < straight.kernels.posterior_replicates.size(); ++r)
        EXPECT_TRUE(again.kernels.posterior_replicates[r].layer(l) == straight.kernels.posterior_replicates[r].layer(l))
            << what;
    }
  }
  // A save of another run (other block count) is refused, naming the save.
  MemoryStore other = store;
  other.resume_from = 0;
  ImportanceSettings fewer = settings;
  fewer.batches = 4;
  EXPECT_THROW(run_importance_posterior(spec, data, fewer, &other), DataError);
}

}  // namespace
}  // namespace kernelmc::sampling
