// The prior study end to end at small size: bit-identical for any thread count, and
// its bookkeeping (layers, widths, verdict fields) consistent.
#include "validation/prior_study.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"

namespace kv = kernelmc::validation;
namespace kc = kernelmc::core;

namespace {
kc::Config small_config() {
  kc::Config c;
  c.model.depth = 2;
  c.prior.widths = {8, 16, 32};
  c.prior.networks = 2000;
  return c;
}
}  // namespace

TEST(PriorStudy, ResultIsBitIdenticalForOneAndTwoThreads) {
  const kc::Config config = small_config();
  const kc::Dataset data = kc::make_dataset(config.data, config.run.seed);
  kv::SilentObserver quiet;
  omp_set_num_threads(1);
  const kv::PriorStudyResult one = kv::run_prior_study(config, data, quiet);
  omp_set_num_threads(2);
  const kv::PriorStudyResult two = kv::run_prior_study(config, data, quiet);
  ASSERT_EQ(one.widths.size(), two.widths.size());
  for (std::size_t w = 0; w < one.widths.size(); ++w) {
    for (std::size_t l = 0; l < one.widths[w].layers.size(); ++l) {
      const auto& a = one.widths[w].layers[l];
      const auto& b = two.widths[w].layers[l];
      EXPECT_TRUE(a.mean == b.mean);
      EXPECT_TRUE(a.scaled_covariance == b.scaled_covariance);
      EXPECT_EQ(a.mean_vs_corrected.frobenius, b.mean_vs_corrected.frobenius);
      EXPECT_EQ(a.covariance_vs_theory.frobenius_se, b.covariance_vs_theory.frobenius_se);
    }
  }
}

TEST(PriorStudy, ReportsEveryLayerAtEveryWidth) {
  const kc::Config config = small_config();
  const kc::Dataset data = kc::make_dataset(config.data, config.run.seed);
  kv::SilentObserver quiet;
  const kv::PriorStudyResult r = kv::run_prior_study(config, data, quiet);
  ASSERT_EQ(r.widths.size(), 3u);
  for (const auto& w : r.widths) {
    ASSERT_EQ(w.layers.size(), 2u);  // l = 2, 3
    EXPECT_EQ(w.layers[0].layer, 2);
    EXPECT_EQ(w.networks, 2000);
    // The first hidden layer has a deterministic input kernel: no mean shift is predicted.
    EXPECT_FALSE(w.layers[0].shift_predicted);
    EXPECT_TRUE(w.layers[1].shift_predicted);
  }
  ASSERT_EQ(r.scaling.size(), 2u);
  EXPECT_FALSE(r.scaling[0].verdict.empty());
}

TEST(PriorStudy, RejectsAWidthListWithANonPositiveWidth) {
  kc::Config config = small_config();
  config.prior.widths = {8, 0};
  const kc::Dataset data = kc::make_dataset(config.data, config.run.seed);
  kv::SilentObserver quiet;
  try {
    kv::run_prior_study(config, data, quiet);
    FAIL() << "expected ConfigError";
  } catch (const kernelmc::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("prior.widths"), std::string::npos) << e.what();
  }
}
