// The chain runner's contract (sampling/chain_runner.hpp): bit-identical results for any
// thread count, prior initial points from the chain_init stream, thinning, divergence
// counting, errors of the lowest chain, progress, settings errors naming the field, and
// exact readout completion of collapsed chains.
#include "sampling/chain_runner.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/kernel_observables.hpp"
#include "sampling/test_potentials.hpp"

namespace kernelmc::sampling {
namespace {

using testing::correlated_gaussian;

// Stores every kept θ, as columns.
class StoringRecorder final : public DrawRecorder {
 public:
  StoringRecorder(Eigen::Index dimension, Eigen::Index draws) : draws_(dimension, draws) {}
  void record(Eigen::Index index, const Eigen::Ref<const Eigen::VectorXd>& theta) override { draws_.col(index) = theta; }
  const Eigen::MatrixXd& draws() const { return draws_; }

 private:
  Eigen::MatrixXd draws_;
};

struct StoredRun {
  std::vector<ChainResult> results;
  std::vector<StoringRecorder> recorders;
};

StoredRun run_and_store(const Potential& target, const SamplerSettings& sampler, const ChainSettings& settings,
                        Eigen::Index dimension) {
  StoredRun run;
  run.recorders.assign(static_cast<std::size_t>(settings.chains), StoringRecorder(dimension, settings.draws));
  std::vector<DrawRecorder*> pointers;
  for (auto& r : run.recorders) pointers.push_back(&r);
  run.results = run_chains(target, sampler, settings, pointers);
  return run;
}

// Restores OpenMP's thread count when a test ends.
class ThreadCount {
 public:
  ThreadCount() : saved_(omp_get_max_threads()) {}
  ~ThreadCount() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

core::ModelSpec small_config_b_model(Eigen::Index width) {
  return core::uniform_model(3, 2, width, core::Activation::erf, 2.0, 0.0, 1.0);
}

TEST(ChainRunner, ResultsAreBitIdenticalForOneAndTwoThreads) {
  const ThreadCount restore;
  const core::Dataset data = core::config_b_dataset();
  const core::ModelSpec spec = small_config_b_model(4);
  const CollapsedPosterior posterior(spec, data);
  const ChainSettings settings{.chains = 3, .warmup = 60, .draws = 40, .thin = 2, .seed = 11, .stream_width = 4};
  const ObservableSettings observable{.draws = 40, .batches = 4, .keep_entry_draws = true};

  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    std::vector<KernelObservables> observables(3, KernelObservables(spec, data, observable));
    std::vector<DrawRecorder*> recorders;
    for (auto& o : observables) recorders.push_back(&o);
    std::vector<ChainResult> results = run_chains(posterior, SamplerSettings{}, settings, recorders);
    return std::make_pair(std::move(results), summarize_observables(observables));
  };
  const auto [one, one_summary] = run(1);
  const auto [two, two_summary] = run(2);
  ASSERT_EQ(one.size(), two.size());
  for (std::size_t c = 0; c < one.size(); ++c) {
    EXPECT_EQ(one[c].energy, two[c].energy) << "chain " << c;
    EXPECT_EQ(one[c].accept_stat, two[c].accept_stat);
    EXPECT_EQ(one[c].tree_depth, two[c].tree_depth);
    EXPECT_EQ(one[c].step_size, two[c].step_size);
    EXPECT_EQ(one[c].inverse_mass, two[c].inverse_mass);
    EXPECT_EQ(one[c].gradient_evaluations, two[c].gradient_evaluations);
  }
  for (Eigen::Index l = 2; l <= 3; ++l) {
    EXPECT_EQ(one_summary.layer(l).mean, two_summary.layer(l).mean) << "layer " << l;
    EXPECT_EQ(one_summary.layer(l).mcse, two_summary.layer(l).mcse);
    EXPECT_EQ(one_summary.layer(l).rhat.cwiseEqual(two_summary.layer(l).rhat).count(), 16);
    for (int s = 0; s < kKernelSummaryKinds; ++s)
      EXPECT_EQ(one_summary.layer(l).summaries[s].draws, two_summary.layer(l).summaries[s].draws);
  }
}

TEST(ChainRunner, InitialPointIsTheStandardNormalDrawOfTheChainInitStream) {
  const ChainSettings settings{.seed = 5, .stream_width = 16};
  core::Engine engine = core::make_stream(5, core::StreamPurpose::chain_init, 16, 2);
  const Eigen::MatrixXd expected = core::standard_normal_matrix(engine, 7, 1);
  EXPECT_EQ(initial_point(settings, 2, 7), Eigen::VectorXd(expected.col(0)));
  EXPECT_NE(initial_point(settings, 1, 7), initial_point(settings, 2, 7));
}

// A Gaussian that logs the first point each clone is evaluated at: where its chain starts.
class FirstPointPotential final : public testing::GaussianPotential {
 public:
  struct Log {
    std::mutex mutex;
    std::vector<Eigen::VectorXd> points;
  };
  FirstPointPotential(const testing::GaussianPotential& base, std::shared_ptr<Log> log)
      : GaussianPotential(base), log_(std::move(log)) {}
  double value_and_gradient(const Eigen::Ref<const Eigen::VectorXd>& q, Eigen::Ref<Eigen::VectorXd> gradient) override {
    if (!logged_) {
      const std::lock_guard<std::mutex> lock(log_->mutex);
      log_->points.emplace_back(q);
      logged_ = true;
    }
    return GaussianPotential::value_and_gradient(q, gradient);
  }
  // A fresh clone has not been evaluated yet.
  std::unique_ptr<Potential> clone() const override {
    return std::make_unique<FirstPointPotential>(static_cast<const GaussianPotential&>(*this), log_);
  }

 private:
  std::shared_ptr<Log> log_;
  bool logged_ = false;
};

TEST(ChainRunner, EveryChainStartsAtItsPriorDraw) {
  auto log = std::make_shared<FirstPointPotential::Log>();
  const FirstPointPotential target(correlated_gaussian(), log);
  const ChainSettings settings{.chains = 3, .warmup = 0, .draws = 2, .seed = 8, .stream_width = 1};
  run_and_store(target, SamplerSettings{}, settings, 5);
  ASSERT_EQ(log->points.size(), 3u);
  for (Eigen::Index c = 0; c < 3; ++c) {
    const Eigen::VectorXd start = initial_point(settings, c, 5);
    const auto found = std::find(log->points.begin(), log->points.end(), start);
    EXPECT_NE(found, log->points.end()) << "chain " << c << " did not start at its prior draw";
  }
}

TEST(ChainRunner, ThinningKeepsEveryThinthTransitionOfTheSameChain) {
  const testing::GaussianPotential target = correlated_gaussian();
  const SamplerSettings hmc{.kind = SamplerKind::hmc};
  const ChainSettings every{.chains = 2, .warmup = 50, .draws = 30, .thin = 1, .seed = 3};
  ChainSettings thinned = every;
  thinned.draws = 10;
  thinned.thin = 3;
  const StoredRun all = run_and_store(target, hmc, every, 5);
  const StoredRun kept = run_and_store(target, hmc, thinned, 5);
  for (std::size_t c = 0; c < 2; ++c) {
    for (Eigen::Index i = 0; i < 10; ++i) {
      EXPECT_EQ(kept.recorders[c].draws().col(i), all.recorders[c].draws().col(3 * i + 2)) << "draw " << i;
      EXPECT_EQ(kept.results[c].energy(i), all.results[c].energy(3 * i + 2));
    }
    EXPECT_EQ(kept.results[c].sampling_transitions, 30);
    EXPECT_EQ(kept.results[c].step_size, all.results[c].step_size);
  }
}

TEST(ChainRunner, CountsDivergencesAndNeverRecordsANonFiniteState) {
  // NaN beyond q₀ > 1.5: a proposal that crosses the wall is divergent and rejected.
  const testing::WalledPotential target(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2), 1.5);
  const SamplerSettings hmc{.kind = SamplerKind::hmc, .metric = MetricKind::unit, .step_size = 0.5,
                            .integration_time = 2.0};
  const ChainSettings settings{.chains = 2, .warmup = 0, .draws = 400, .seed = 4};
  const StoredRun run = run_and_store(target, hmc, settings, 2);
  Eigen::Index divergent = 0;
  for (std::size_t c = 0; c < 2; ++c) {
    const ChainResult& r = run.results[c];
    EXPECT_EQ(r.sampling_divergences, static_cast<Eigen::Index>(r.divergent.sum())) << "thin = 1 keeps every transition";
    EXPECT_TRUE(r.energy.allFinite());
    EXPECT_TRUE(run.recorders[c].draws().allFinite());
    EXPECT_LE(run.recorders[c].draws().row(0).maxCoeff(), 1.5);
    divergent += r.sampling_divergences;
  }
  // P(q₀ > 1.5) ≈ 7 % under N(0, 1): trajectories of length 2 cross the wall often.
  EXPECT_GT(divergent, 0);
  EXPECT_EQ(summarize_sampler(run.results).divergences, divergent);
}

class ThrowingRecorder final : public DrawRecorder {
 public:
  explicit ThrowingRecorder(std::string message) : message_(std::move(message)) {}
  void record(Eigen::Index index, const Eigen::Ref<const Eigen::VectorXd>&) override {
    if (index == 3 && !message_.empty()) throw NumericalError(message_);
  }

 private:
  std::string message_;
};

TEST(ChainRunner, RethrowsTheErrorOfTheLowestFailingChain) {
  const ThreadCount restore;
  const testing::GaussianPotential target = correlated_gaussian();
  ThrowingRecorder fine(""), first("chain 1 failed"), second("chain 3 failed");
  const std::vector<DrawRecorder*> recorders = {&fine, &first, &fine, &second};
  const ChainSettings settings{.chains = 4, .warmup = 10, .draws = 10};
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    try {
      run_chains(target, SamplerSettings{}, settings, recorders);
      ADD_FAILURE() << "no exception";
    } catch (const NumericalError& e) {
      EXPECT_STREQ(e.what(), "chain 1 failed") << threads << " threads";
    }
  }
}

TEST(ChainRunner, ProgressIsMonotoneAndEndsAtTheTotal) {
  const testing::GaussianPotential target = correlated_gaussian();
  const ChainSettings settings{.chains = 2, .warmup = 100, .draws = 50, .thin = 2};
  std::vector<std::int64_t> reports;
  StoringRecorder a(5, 50), b(5, 50);
  run_chains(target, SamplerSettings{}, settings, {&a, &b}, [&](std::int64_t done) { reports.push_back(done); });
  ASSERT_FALSE(reports.empty());
  EXPECT_TRUE(std::is_sorted(reports.begin(), reports.end()));
  EXPECT_EQ(reports.back(), total_transitions(settings));
  EXPECT_EQ(total_transitions(settings), 2 * (100 + 50 * 2));
}

TEST(ChainRunner, AnExceptionFromTheProgressCallbackStopsTheRun) {
  const testing::GaussianPotential target = correlated_gaussian();
  const ChainSettings settings{.chains = 1, .warmup = 100, .draws = 100};
  StoringRecorder a(5, 100);
  EXPECT_THROW(run_chains(target, SamplerSettings{}, settings, {&a},
                          [](std::int64_t) { throw std::runtime_error("interrupted"); }),
               std::runtime_error);
}

void expect_config_error(const ChainSettings& settings, const std::string& field) {
  try {
    validate(settings);
    ADD_FAILURE() << "no error for " << field;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST(ChainRunner, BadSettingsThrowConfigErrorNamingTheField) {
  expect_config_error({.chains = 0}, "posterior.chains = 0");
  expect_config_error({.warmup = -1}, "posterior.warmup = -1");
  expect_config_error({.draws = 0}, "posterior.draws = 0");
  expect_config_error({.thin = 0}, "posterior.thin = 0");
  const testing::GaussianPotential target = correlated_gaussian();
  StoringRecorder a(5, 10);
  EXPECT_THROW(run_chains(target, SamplerSettings{}, {.chains = 2, .draws = 10}, {&a}), ConfigError);
  EXPECT_THROW(run_chains(target, SamplerSettings{.target_accept = 1.2}, {.chains = 1, .draws = 10}, {&a}),
               ConfigError);
}

TEST(ChainRunner, PosteriorFormNamesRoundTrip) {
  for (PosteriorForm form : {PosteriorForm::full, PosteriorForm::collapsed})
    EXPECT_EQ(parse_posterior_form(posterior_form_name(form)), form);
  try {
    parse_posterior_form("colapsed");
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("posterior.form = \"colapsed\""), std::string::npos) << e.what();
  }
}

TEST(ReadoutCompletion, DrawsTheReadoutFromItsOwnStreamWithoutDisturbingTheChain) {
  const core::Dataset data = core::config_b_dataset();
  const core::ModelSpec spec = small_config_b_model(3);
  const CollapsedPosterior posterior(spec, data);
  const ParameterLayout& layout = posterior.layout();
  const ChainSettings settings{.chains = 2, .warmup = 30, .draws = 20, .seed = 9, .stream_width = 3};

  const StoredRun hidden = run_and_store(posterior, SamplerSettings{}, settings, layout.hidden_size());
  std::vector<StoringRecorder> full(2, StoringRecorder(layout.size(), 20));
  std::vector<std::unique_ptr<ReadoutCompletion>> completions;
  std::vector<DrawRecorder*> recorders;
  for (Eigen::Index c = 0; c < 2; ++c) {
    completions.push_back(std::make_unique<ReadoutCompletion>(posterior, settings, c, full[c]));
    recorders.push_back(completions.back().get());
  }
  run_chains(posterior, SamplerSettings{}, settings, recorders);

  CollapsedPosterior replay = posterior;
  for (Eigen::Index c = 0; c < 2; ++c) {
    const Eigen::MatrixXd& draws = full[static_cast<std::size_t>(c)].draws();
    EXPECT_EQ(draws.topRows(layout.hidden_size()), hidden.recorders[c].draws()) << "chain " << c;
    core::Engine engine = core::make_stream(9, core::StreamPurpose::readout_draw, 3, static_cast<std::uint64_t>(c));
    Eigen::VectorXd readout(layout.readout_size());
    for (Eigen::Index i = 0; i < 20; ++i) {
      replay.draw_readout(draws.col(i).head(layout.hidden_size()), engine, readout);
      EXPECT_EQ(Eigen::VectorXd(draws.col(i).tail(layout.readout_size())), readout) << "chain " << c << " draw " << i;
    }
  }
}

TEST(SamplerSummary, AggregatesTheChainsInOrder) {
  std::vector<ChainResult> chains(2);
  for (Eigen::Index c = 0; c < 2; ++c) {
    ChainResult& r = chains[static_cast<std::size_t>(c)];
    r.chain = c;
    r.energy = (Eigen::VectorXd(5) << 1.0, 2.0 + c, 0.5, 3.0, 1.5).finished();
    r.accept_stat = Eigen::VectorXd::Constant(5, 0.5 + 0.25 * static_cast<double>(c));
    r.divergent = Eigen::VectorXd::Zero(5);
    r.tree_depth = (Eigen::VectorXi(5) << 1, 2, 3, 2, 2).finished();
    r.n_leapfrog = (Eigen::VectorXi(5) << 1, 3, 7, 3, 3).finished();
    r.sampling_transitions = 10;
    r.sampling_divergences = c;
    r.warmup_divergences = 2;
    r.mean_accept_stat = 0.5 + 0.25 * static_cast<double>(c);
    r.step_size = 0.1 * static_cast<double>(c + 1);
    r.gradient_evaluations = 100;
  }
  const SamplerSummary s = summarize_sampler(chains);
  EXPECT_DOUBLE_EQ(s.mean_accept_stat, 0.625);
  EXPECT_EQ(s.divergences, 1);
  EXPECT_EQ(s.warmup_divergences, 4);
  EXPECT_EQ(s.sampling_transitions, 20);
  EXPECT_EQ(s.max_tree_depth, 3);
  EXPECT_DOUBLE_EQ(s.mean_tree_depth, 2.0);
  EXPECT_DOUBLE_EQ(s.mean_leapfrog, 3.4);
  EXPECT_EQ(s.gradient_evaluations, 200);
  EXPECT_EQ(s.step_size, Eigen::Vector2d(0.1, 0.2));
  // E-BFMI of chain 0 by hand: Σ(ΔE)² / Σ(E − Ē)² = (1 + 2.25 + 6.25 + 2.25) / 3.7.
  EXPECT_NEAR(s.e_bfmi(0), 11.75 / 3.7, 1e-12);
  EXPECT_FALSE(s.low_e_bfmi);
  EXPECT_EQ(draws_by_chain(chains, &ChainResult::energy).col(1), chains[1].energy);
}

}  // namespace
}  // namespace kernelmc::sampling
