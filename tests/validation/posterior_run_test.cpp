// The posterior run (validation/posterior_run.hpp): settings errors name the field, the
// run is finite and thread-independent, entry draws are kept only under the memory limit,
// the output is reported when the draws carry a readout, progress is one stage, and the
// convergence gate's rule (R-hat < 1.01, bulk ESS >= 400, NaN fails with its reason).
#include "validation/posterior_run.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"

namespace kernelmc::validation {
namespace {

// Config B with a small width: erf, L = 2, N = 4, g = 2, κ = 1.
core::Config small_config() {
  core::Config config;
  config.model.depth = 2;
  config.model.widths = {4};
  config.model.g = {2.0};
  config.run.seed = 17;
  return config;
}

const PosteriorRunSettings kSmall{.chains = 2, .warmup = 100, .draws = 80, .batches = 4};

core::Config with_posterior(core::Config config, const PosteriorRunSettings& posterior) {
  config.posterior = posterior;
  return config;
}

PosteriorRunResult small_run(const PosteriorRunSettings& settings = kSmall) {
  SilentObserver silent;
  return run_posterior(with_posterior(small_config(), settings), core::config_b_dataset(), silent);
}

void expect_rejected(PosteriorRunSettings settings, const std::string& field) {
  try {
    validate(settings);
    ADD_FAILURE() << "accepted a bad " << field;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST(PosteriorRunSettings, EveryBadFieldThrowsConfigErrorNamingIt) {
  EXPECT_NO_THROW(validate(PosteriorRunSettings{}));
  expect_rejected({.chains = 0}, "posterior.chains = 0");
  expect_rejected({.warmup = -5}, "posterior.warmup = -5");
  expect_rejected({.draws = 0, .batches = 0}, "posterior.draws = 0");
  expect_rejected({.thin = 0}, "posterior.thin = 0");
  expect_rejected({.form = static_cast<sampling::PosteriorForm>(7)}, "posterior.form = 7");
  expect_rejected({.batches = 0}, "posterior.batches = 0");
  expect_rejected({.draws = 10, .batches = 11}, "posterior.batches = 11");
  expect_rejected({.chains = 1, .batches = 1}, "posterior.batches = 1");
  expect_rejected({.max_entry_draw_values = -1.0}, "posterior.max_entry_draw_values");
  expect_rejected({.max_entry_draw_values = std::numeric_limits<double>::quiet_NaN()},
                  "posterior.max_entry_draw_values");
}

TEST(PosteriorRun, BadConfigOrDataIsRejectedBeforeSampling) {
  SilentObserver silent;
  core::Config config = small_config();
  config.sampler.target_accept = 1.5;
  EXPECT_THROW(run_posterior(with_posterior(config, kSmall), core::config_b_dataset(), silent), ConfigError);
  PosteriorRunSettings layers = kSmall;
  layers.draw_layers = {2, 4};
  try {
    run_posterior(with_posterior(small_config(), layers), core::config_b_dataset(), silent);
    ADD_FAILURE() << "accepted layer 4 of an L = 2 network";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("posterior.draw_layers[2] = 4: must be a layer in [2, L+1 = 3]"),
              std::string::npos)
        << e.what();
  }
  core::Dataset data = core::config_b_dataset();
  data.targets(2, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(run_posterior(with_posterior(small_config(), kSmall), data, silent), DataError);
}

TEST(PosteriorRun, SmallRunIsFiniteAndIdenticalForOneAndTwoThreads) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const PosteriorRunResult one = small_run();
  omp_set_num_threads(2);
  const PosteriorRunResult two = small_run();
  omp_set_num_threads(saved);

  ASSERT_EQ(one.kernels.layers.size(), 2u);
  for (Eigen::Index l = 2; l <= 3; ++l) {
    const sampling::LayerSummary& layer = one.kernels.layer(l);
    EXPECT_TRUE(layer.mean.allFinite() && layer.mcse.allFinite() && layer.sd.allFinite()) << "layer " << l;
    EXPECT_TRUE((layer.mcse.array() > 0.0).all());
    EXPECT_EQ(layer.mean, two.kernels.layer(l).mean);
    EXPECT_EQ(layer.mcse, two.kernels.layer(l).mcse);
    for (const auto& s : layer.summaries) {
      EXPECT_TRUE(s.defined);
      EXPECT_TRUE(std::isfinite(s.mean) && std::isfinite(s.rhat) && std::isfinite(s.ess_bulk));
    }
  }
  EXPECT_TRUE(one.kernels.entry_draws_kept);
  EXPECT_TRUE(one.entry_draws_note.empty());
  EXPECT_EQ(one.sampler_summary.sampling_transitions, 160);
  EXPECT_EQ(one.gate.passed, two.gate.passed);
  EXPECT_EQ(one.gate.failures, two.gate.failures);
  EXPECT_EQ(one.chain_settings.stream_width, 4u);
  EXPECT_EQ(one.chain_settings.seed, 17u);
}

TEST(PosteriorRun, EntryDrawsAreKeptOnlyUnderTheMemoryLimit) {
  PosteriorRunSettings settings = kSmall;
  // K·L·draws·chains = 10·2·80·2 = 3200 values.
  settings.max_entry_draw_values = 3199;
  const PosteriorRunResult result = small_run(settings);
  EXPECT_FALSE(result.kernels.entry_draws_kept);
  EXPECT_EQ(result.kernels.layer(2).rhat.size(), 0);
  EXPECT_NE(result.entry_draws_note.find("3200 values > posterior.max_entry_draw_values = 3199"), std::string::npos)
      << result.entry_draws_note;
  EXPECT_FALSE(result.gate.entries_checked);
  settings.max_entry_draw_values = 3200;
  EXPECT_TRUE(small_run(settings).kernels.entry_draws_kept);
}

TEST(PosteriorRun, OutputIsReportedWhenTheDrawsCarryAReadout) {
  PosteriorRunSettings settings = kSmall;
  EXPECT_EQ(small_run(settings).kernels.output_mean.size(), 0) << "collapsed, readout integrated out";
  settings.draw_readout = true;
  const PosteriorRunResult completed = small_run(settings);
  EXPECT_EQ(completed.kernels.output_mean.rows(), 4);
  EXPECT_TRUE(completed.kernels.output_mcse.allFinite());
  settings.draw_readout = false;
  settings.form = sampling::PosteriorForm::full;
  EXPECT_EQ(small_run(settings).kernels.output_mean.rows(), 4);
}

class RecordingObserver final : public Observer {
 public:
  void begin_stage(std::string_view name, std::int64_t total) override {
    stages.emplace_back(name);
    total_ = total;
  }
  void advance(std::int64_t done) override { last = done; }
  void end_stage() override { ++ended; }
  std::vector<std::string> stages;
  std::int64_t total_ = 0, last = 0;
  int ended = 0;
};

TEST(PosteriorRun, ReportsProgressInTransitions) {
  RecordingObserver observer;
  run_posterior(with_posterior(small_config(), kSmall), core::config_b_dataset(), observer);
  EXPECT_EQ(observer.stages, std::vector<std::string>{"sampling"});
  EXPECT_EQ(observer.total_, 2 * (100 + 80));
  EXPECT_EQ(observer.last, observer.total_);
  EXPECT_EQ(observer.ended, 1);
}

// A summary with given diagnostics (one layer, one defined summary of each kind).
sampling::KernelPosteriorSummary summary_with(double rhat, double ess_bulk) {
  sampling::KernelPosteriorSummary k;
  k.points = 2;
  sampling::LayerSummary layer;
  layer.layer = 2;
  for (int s = 0; s < sampling::kKernelSummaryKinds; ++s) {
    sampling::ScalarSummary summary;
    summary.kind = static_cast<sampling::KernelSummaryKind>(s);
    summary.rhat = 1.001;
    summary.ess_bulk = summary.ess_tail = 1000.0;
    layer.summaries.push_back(summary);
  }
  layer.summaries[1].rhat = rhat;
  layer.summaries[1].ess_bulk = ess_bulk;
  layer.summaries[2].defined = false;  // never checked
  layer.summaries[2].rhat = 2.0;
  k.layers.push_back(layer);
  return k;
}

TEST(ConvergenceGate, PassesOnlyWithRhatBelow1p01AndBulkEssAtLeast400) {
  const ConvergenceGate pass = convergence_gate(summary_with(1.009, 400.0));
  EXPECT_TRUE(pass.passed);
  EXPECT_TRUE(pass.failures.empty());
  EXPECT_DOUBLE_EQ(pass.worst_rhat, 1.009);
  EXPECT_DOUBLE_EQ(pass.min_ess_bulk, 400.0);

  const ConvergenceGate high = convergence_gate(summary_with(1.01, 5000.0));
  EXPECT_FALSE(high.passed);
  ASSERT_EQ(high.failures.size(), 1u);
  EXPECT_EQ(high.failures[0], "layer 2 KTA: R-hat 1.01 >= 1.01");

  const ConvergenceGate few = convergence_gate(summary_with(1.0, 399.0));
  EXPECT_FALSE(few.passed);
  EXPECT_EQ(few.failures.at(0), "layer 2 KTA: bulk ESS 399 < 400");

  const ConvergenceGate stuck = convergence_gate(summary_with(std::nan(""), std::nan("")));
  EXPECT_FALSE(stuck.passed);
  EXPECT_NE(stuck.failures.at(0).find("undefined (constant or non-finite draws)"), std::string::npos);
  EXPECT_TRUE(std::isfinite(stuck.worst_rhat) && std::isfinite(stuck.min_ess_bulk)) << "no NaN in the gate";
}

TEST(ConvergenceGate, ChecksKeptEntriesWithoutDecidingThePass) {
  sampling::KernelPosteriorSummary k = summary_with(1.0, 1000.0);
  k.entry_draws_kept = true;
  sampling::LayerSummary& layer = k.layers[0];
  layer.rhat = Eigen::MatrixXd{{1.001, 1.05}, {1.05, std::nan("")}};
  layer.ess_bulk = Eigen::MatrixXd{{900.0, 800.0}, {800.0, 700.0}};
  const ConvergenceGate g = convergence_gate(k);
  EXPECT_TRUE(g.passed);
  EXPECT_TRUE(g.entries_checked);
  EXPECT_FALSE(g.entries_passed);
  EXPECT_EQ(g.entries_failing, 2) << "(0,1) has R-hat 1.05 and (1,1) has none; (1,0) is the same entry";
  EXPECT_DOUBLE_EQ(g.entries_worst_rhat, 1.05);
  EXPECT_DOUBLE_EQ(g.entries_min_ess_bulk, 700.0);
}

}  // namespace
}  // namespace kernelmc::validation
