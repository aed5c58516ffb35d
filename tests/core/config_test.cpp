// Tests of core/config.cpp: every validated field rejects a bad value with a ConfigError
// that names it, resolve_model broadcasts widths and g.
#include "core/config.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace kernelmc::core {
namespace {

TEST(Config, DefaultsValidate) { EXPECT_NO_THROW(validate(Config{})); }

TEST(Config, FourPointMethodNamesRoundTrip) {
  for (FourPointMethod m :
       {FourPointMethod::automatic, FourPointMethod::quadrature, FourPointMethod::monte_carlo})
    EXPECT_EQ(parse_four_point_method(four_point_method_name(m)), m);
  EXPECT_EQ(four_point_method_name(FourPointMethod::monte_carlo), "monte_carlo");
  EXPECT_THROW(parse_four_point_method("simpson"), ConfigError);
}

// One bad setting (given as `--set` overrides on the defaults) and the field its
// ConfigError must name.
struct BadSetting {
  std::vector<std::string> overrides;
  std::string field;
};

void PrintTo(const BadSetting& bad, std::ostream* os) {
  for (const auto& o : bad.overrides) *os << o << " ";
}

class ConfigRejects : public ::testing::TestWithParam<BadSetting> {};

TEST_P(ConfigRejects, BadValueWithErrorNamingTheField) {
  const BadSetting& bad = GetParam();
  try {
    parse_config("", bad.overrides, "<test>");
    FAIL() << "no ConfigError for " << ::testing::PrintToString(bad);
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find(bad.field), std::string::npos)
        << "message \"" << error.what() << "\" does not name " << bad.field;
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryField, ConfigRejects,
    ::testing::Values(
        // [model]
        BadSetting{{"model.depth=0"}, "model.depth"},
        BadSetting{{"model.depth=-2"}, "model.depth"},
        BadSetting{{"model.depth=2.5"}, "model.depth"},
        BadSetting{{"model.depth=\"three\""}, "model.depth"},
        BadSetting{{"model.widths=[-3]"}, "model.widths"},
        BadSetting{{"model.widths=0"}, "model.widths"},
        BadSetting{{"model.widths=[]"}, "model.widths"},
        BadSetting{{"model.widths=[64, 64]"}, "model.widths"},  // L = 3 by default
        BadSetting{{"model.widths=[64, 0, 64]"}, "model.widths"},
        BadSetting{{"model.width=-1"}, "model.width"},
        BadSetting{{"model.activation=\"sigmoid\""}, "model.activation"},
        BadSetting{{"model.activation=3"}, "model.activation"},
        BadSetting{{"model.g=0"}, "model.g"},
        BadSetting{{"model.g=-1.5"}, "model.g"},
        BadSetting{{"model.g=nan"}, "model.g"},
        BadSetting{{"model.g=inf"}, "model.g"},
        BadSetting{{"model.g=[1, 1]"}, "model.g"},
        BadSetting{{"model.g=[1, 1, 0, 1]"}, "model.g"},
        BadSetting{{"model.g=[1, \"a\", 1, 1]"}, "model.g"},
        BadSetting{{"model.bias_variance=-0.1"}, "model.bias_variance"},
        BadSetting{{"model.bias_variance=inf"}, "model.bias_variance"},
        BadSetting{{"model.kappa=0"}, "model.kappa"},
        BadSetting{{"model.kappa=-1"}, "model.kappa"},
        BadSetting{{"model.kappa=nan"}, "model.kappa"},
        BadSetting{{"model.kappa=inf"}, "model.kappa"},
        BadSetting{{"model.kappa=\"one\""}, "model.kappa"},
        // [data]
        BadSetting{{"data.kind=\"foo\""}, "data.kind"},
        BadSetting{{"data.points=0"}, "data.points"},
        BadSetting{{"data.input_dim=0"}, "data.input_dim"},
        BadSetting{{"data.input_dim=1"}, "data.input_dim"},  // xor needs d ≥ 2
        BadSetting{{"data.noise=-0.1"}, "data.noise"},
        BadSetting{{"data.noise=nan"}, "data.noise"},
        BadSetting{{"data.teacher_width=0"}, "data.teacher_width"},
        BadSetting{{"data.teacher_activation=\"softplus\""}, "data.teacher_activation"},
        BadSetting{{"data.kind=csv"}, "data.inputs_csv"},
        BadSetting{{"data.kind=csv", "data.inputs_csv=x.csv"}, "data.targets_csv"},
        BadSetting{{"data.csv_header=1"}, "data.csv_header"},
        BadSetting{{"data.kind=fashion_mnist", "data.images_idx=\"\""}, "data.images_idx"},
        BadSetting{{"data.kind=fashion_mnist", "data.labels_idx=\"\""}, "data.labels_idx"},
        BadSetting{{"data.kind=fashion_mnist", "data.classes=[3, 3]"}, "data.classes"},
        BadSetting{{"data.kind=fashion_mnist", "data.classes=[0]"}, "data.classes"},
        BadSetting{{"data.kind=fashion_mnist", "data.classes=[-1, 2]"}, "data.classes"},
        BadSetting{{"data.kind=fashion_mnist", "data.reduction=\"blur\""}, "data.reduction"},
        BadSetting{{"data.kind=fashion_mnist", "data.reduced_dim=0"}, "data.reduced_dim"},
        BadSetting{{"data.subset_seed=-1"}, "data.subset_seed"},
        // [prior]
        BadSetting{{"prior.widths=[]"}, "prior.widths"},
        BadSetting{{"prior.widths=[16, 0]"}, "prior.widths"},
        BadSetting{{"prior.widths=-16"}, "prior.widths"},
        BadSetting{{"prior.networks=1"}, "prior.networks"},
        BadSetting{{"prior.networks=0"}, "prior.networks"},
        // [theory]
        BadSetting{{"theory.quadrature_tolerance=0"}, "theory.quadrature_tolerance"},
        BadSetting{{"theory.quadrature_tolerance=-1e-8"}, "theory.quadrature_tolerance"},
        BadSetting{{"theory.quadrature_tolerance=1"}, "theory.quadrature_tolerance"},
        BadSetting{{"theory.quadrature_tolerance=nan"}, "theory.quadrature_tolerance"},
        BadSetting{{"theory.four_point=\"simpson\""}, "theory.four_point"},
        BadSetting{{"theory.four_point_nodes=0"}, "theory.four_point_nodes"},
        BadSetting{{"theory.quadrature_max_points=0"}, "theory.quadrature_max_points"},
        BadSetting{{"theory.four_point_samples=1"}, "theory.four_point_samples"},
        // [sampler]
        BadSetting{{"sampler.kind=\"gibbs\""}, "sampler.kind"},
        BadSetting{{"sampler.metric=\"dense\""}, "sampler.metric"},
        BadSetting{{"sampler.step_size=0"}, "sampler.step_size"},
        BadSetting{{"sampler.step_size=nan"}, "sampler.step_size"},
        BadSetting{{"sampler.integration_time=-1"}, "sampler.integration_time"},
        BadSetting{{"sampler.max_tree_depth=0"}, "sampler.max_tree_depth"},
        BadSetting{{"sampler.max_energy_error=0"}, "sampler.max_energy_error"},
        BadSetting{{"sampler.friction=0"}, "sampler.friction"},
        BadSetting{{"sampler.kind=\"overdamped_langevin\""}, "sampler.adapt_step_size"},
        BadSetting{{"sampler.target_accept=1.2"}, "sampler.target_accept"},
        BadSetting{{"sampler.target_accept=0"}, "sampler.target_accept"},
        BadSetting{{"sampler.adapt_gamma=0"}, "sampler.adapt_gamma"},
        BadSetting{{"sampler.adapt_kappa=1.5"}, "sampler.adapt_kappa"},
        BadSetting{{"sampler.adapt_t0=-10"}, "sampler.adapt_t0"},
        BadSetting{{"sampler.adapt_init_buffer=-1"}, "sampler.adapt_init_buffer"},
        BadSetting{{"sampler.adapt_term_buffer=-1"}, "sampler.adapt_term_buffer"},
        BadSetting{{"sampler.adapt_base_window=1"}, "sampler.adapt_base_window"},
        // [posterior]
        BadSetting{{"posterior.chains=0"}, "posterior.chains"},
        BadSetting{{"posterior.warmup=-1"}, "posterior.warmup"},
        BadSetting{{"posterior.draws=0"}, "posterior.draws"},
        BadSetting{{"posterior.thin=0"}, "posterior.thin"},
        BadSetting{{"posterior.form=\"marginal\""}, "posterior.form"},
        BadSetting{{"posterior.batches=0"}, "posterior.batches"},
        BadSetting{{"posterior.draws=5", "posterior.batches=6"}, "posterior.batches"},
        BadSetting{{"posterior.chains=1", "posterior.batches=1"}, "posterior.batches"},
        BadSetting{{"posterior.route=\"exact\""}, "posterior.route"},
        BadSetting{{"posterior.cross_check=\"auto\""}, "posterior.cross_check"},
        BadSetting{{"posterior.importance_networks=1"}, "posterior.importance_networks"},
        BadSetting{{"posterior.importance_batches=1"}, "posterior.importance_batches"},
        BadSetting{{"posterior.importance_networks=10", "posterior.importance_batches=11"},
                   "posterior.importance_batches"},
        BadSetting{{"posterior.smc_particles=1"}, "posterior.smc_particles"},
        BadSetting{{"posterior.smc_replicates=1"}, "posterior.smc_replicates"},
        BadSetting{{"posterior.smc_ess_fraction=1.0"}, "posterior.smc_ess_fraction"},
        BadSetting{{"posterior.smc_rejuvenation_steps=0"}, "posterior.smc_rejuvenation_steps"},
        BadSetting{{"posterior.smc_move=\"nuts\""}, "posterior.smc_move"},
        BadSetting{{"posterior.smc_step_size=0"}, "posterior.smc_step_size"},
        BadSetting{{"posterior.smc_integration_time=-1"}, "posterior.smc_integration_time"},
        BadSetting{{"posterior.smc_target_accept=1"}, "posterior.smc_target_accept"},
        BadSetting{{"posterior.max_entry_draw_values=-1"}, "posterior.max_entry_draw_values"},
        BadSetting{{"posterior.draw_layers=[2, 1]"}, "posterior.draw_layers"},
        // [theory.fb]
        BadSetting{{"theory.fb.method=\"exact\""}, "theory.fb.method"},
        BadSetting{{"theory.fb.damping=0"}, "theory.fb.damping"},
        BadSetting{{"theory.fb.damping=1.5"}, "theory.fb.damping"},
        BadSetting{{"theory.fb.tolerance=1"}, "theory.fb.tolerance"},
        BadSetting{{"theory.fb.max_iterations=0"}, "theory.fb.max_iterations"},
        BadSetting{{"theory.fb.importance_samples=39"}, "theory.fb.importance_samples"},
        BadSetting{{"theory.fb.quadrature_nodes=2"}, "theory.fb.quadrature_nodes"},
        BadSetting{{"theory.fb.gradient_form=\"pathwise\""}, "theory.fb.gradient_form"},
        BadSetting{{"theory.fb.pair_tolerance=0"}, "theory.fb.pair_tolerance"},
        // [criticality]
        BadSetting{{"criticality.g_min_ratio=0"}, "criticality.g_min_ratio"},
        BadSetting{{"criticality.g_max_ratio=0.4"}, "criticality.g_max_ratio"},
        BadSetting{{"criticality.g_points=1"}, "criticality.g_points"},
        BadSetting{{"criticality.bias_variances=[]"}, "criticality.bias_variances"},
        BadSetting{{"criticality.bias_variances=[0.1, -0.1]"}, "criticality.bias_variances"},
        // [validation]
        BadSetting{{"validation.widths=[]"}, "validation.widths"},
        BadSetting{{"validation.study=\"depth\""}, "validation.study"},
        BadSetting{{"validation.alphas=[]"}, "validation.alphas"},
        BadSetting{{"validation.alphas=[0.5, 0]"}, "validation.alphas"},
        BadSetting{{"validation.alphas=[inf]"}, "validation.alphas"},
        BadSetting{{"validation.widths=[32, 0]"}, "validation.widths"},
        BadSetting{{"validation.prior_networks=1"}, "validation.prior_networks"},
        BadSetting{{"validation.bootstrap_resamples=1"}, "validation.bootstrap_resamples"},
        BadSetting{{"validation.confidence_level=1"}, "validation.confidence_level"},
        BadSetting{{"validation.false_alarm_rate=0"}, "validation.false_alarm_rate"},
        // [run]
        BadSetting{{"run.seed=-1"}, "run.seed"},
        BadSetting{{"run.threads=-1"}, "run.threads"},
        BadSetting{{"run.threads=10000000000000"}, "run.threads"},
        BadSetting{{"run.output_dir=\"\""}, "run.output_dir"}));

TEST(Config, MessageNamesFieldValueAndRule) {
  try {
    parse_config("", {"model.depth=0"});
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_STREQ(error.what(), "model.depth = 0: must be a positive integer");
  }
  try {
    parse_config("", {"model.kappa=-0.5"});
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_STREQ(error.what(), "model.kappa = -0.5: must be finite and > 0");
  }
}

// Values no TOML text can produce, only a struct built in code.
TEST(Config, RejectsForgedEnumsAndOversizedSeed) {
  ModelSettings model;
  model.activation = static_cast<Activation>(99);
  EXPECT_THROW(validate(model), ConfigError);
  TheorySettings theory;
  theory.four_point = static_cast<FourPointMethod>(99);
  EXPECT_THROW(validate(theory), ConfigError);
  RunSettings run;
  run.seed = std::numeric_limits<std::uint64_t>::max();
  EXPECT_THROW(validate(run), ConfigError);
  run.seed = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  EXPECT_NO_THROW(validate(run));
}

TEST(Config, AcceptsBoundaryValues) {
  EXPECT_NO_THROW(parse_config("", {"model.depth=1", "model.widths=[1]", "model.g=[1e-3, 5]",
                                    "model.bias_variance=0", "data.noise=0", "prior.networks=2",
                                    "prior.widths=1", "run.threads=0"}));
  EXPECT_NO_THROW(parse_config("", {"data.kind=config_a", "data.input_dim=1"}));
}

TEST(ResolveModel, BroadcastsOneWidthAndOneG) {
  ModelSettings settings;
  settings.depth = 3;
  settings.widths = {32};
  settings.g = {2.0};
  const ModelSpec spec = resolve_model(settings, 5, 2);
  EXPECT_EQ(spec.input_dim, 5);
  EXPECT_EQ(spec.output_dim, 2);
  EXPECT_EQ(spec.widths, (std::vector<Eigen::Index>{32, 32, 32}));
  EXPECT_EQ(spec.weight_variances, (std::vector<double>{2.0, 2.0, 2.0, 2.0}));
  EXPECT_EQ(spec.activation, settings.activation);
  EXPECT_EQ(spec.kappa, settings.kappa);
  EXPECT_EQ(spec.depth(), 3);
  EXPECT_EQ(spec.width(0), 5);
}

TEST(ResolveModel, KeepsPerLayerWidthsAndG) {
  ModelSettings settings;
  settings.depth = 2;
  settings.widths = {8, 16};
  settings.g = {1.0, 1.5, 2.0};
  settings.bias_variance = 0.25;
  const ModelSpec spec = resolve_model(settings, 3, 1);
  EXPECT_EQ(spec.widths, settings.widths);
  EXPECT_EQ(spec.weight_variances, settings.g);
  EXPECT_EQ(spec.g(3), 2.0);
  EXPECT_EQ(spec.bias_variance, 0.25);
}

TEST(ResolveModel, RejectsBadSettingsAndDimensions) {
  ModelSettings settings;
  settings.kappa = 0.0;
  EXPECT_THROW(resolve_model(settings, 3, 1), ConfigError);
  EXPECT_THROW(resolve_model(ModelSettings{}, 0, 1), ConfigError);
  EXPECT_THROW(resolve_model(ModelSettings{}, 3, 0), ConfigError);
}

}  // namespace
}  // namespace kernelmc::core

namespace kernelmc::core {
namespace {

TEST(ComparableConfig, LeavesOutOnlyWhatResultsNeverDependOn) {
  // Checkpoints and shards compare configs through it: the output directory and the thread
  // counts may differ, any setting that changes results may not.
  Config a = parse_config("", {});
  Config b = a;
  b.run.output_dir = "elsewhere";
  b.run.threads = 7;
  b.run.threads_per_chain = 3;
  EXPECT_TRUE(comparable_config(a) == comparable_config(b));
  b.run.seed = a.run.seed + 1;
  EXPECT_FALSE(comparable_config(a) == comparable_config(b));
}

}  // namespace
}  // namespace kernelmc::core
