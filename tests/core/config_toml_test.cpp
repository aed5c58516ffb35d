// Tests of core/config_toml.cpp: TOML reading, `--set` overrides, unknown keys and
// sections, syntax errors, and the exact round trip parse_config(to_toml(c)) == c.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "core/config.hpp"
#include "core/error.hpp"

namespace kernelmc::core {
namespace {

// A config that differs from the defaults in every section, with doubles that need
// all 17 digits and strings that need escaping.
Config non_trivial_config() {
  Config c;
  c.model.depth = 4;
  c.model.widths = {7, 11, 13, 17};
  c.model.activation = Activation::tanh;
  c.model.g = {0.1, 1.0 / 3.0, 2.0, 1e-300, 123456.789};
  c.model.bias_variance = 0.05;
  c.model.kappa = 1e-7;
  c.data.kind = "csv";
  c.data.points = 17;
  c.data.input_dim = 9;
  c.data.noise = 0.30000000000000004;
  c.data.teacher_width = 5;
  c.data.teacher_activation = Activation::relu;
  c.data.inputs_csv = "dir with space/x \"quoted\" \\ back.csv";
  c.data.targets_csv = "données/ÿ.csv";
  c.data.csv_header = true;
  c.data.images_idx = "img/train images.idx";
  c.data.labels_idx = "img/labels.idx.gz";
  c.data.classes = {9, 1};
  c.data.reduction = "pca";
  c.data.reduced_dim = 12;
  c.data.standardize = false;
  c.data.subset_seed = 77;
  c.prior.widths = {3, 1000000};
  c.prior.networks = 2;
  c.theory.quadrature_tolerance = 2.5e-13;
  c.theory.four_point = FourPointMethod::monte_carlo;
  c.theory.four_point_nodes = 40;
  c.theory.quadrature_max_points = 3;
  c.theory.four_point_samples = 123;
  c.sampler.kind = SamplerKind::underdamped_langevin;
  c.sampler.metric = MetricKind::unit;
  c.sampler.step_size = 0.123456789;
  c.sampler.friction = 2.5;
  c.sampler.target_accept = 0.65;
  c.sampler.adapt_init_buffer = 10;
  c.posterior.chains = 3;
  c.posterior.form = PosteriorForm::full;
  c.posterior.draw_layers = {2, 3};
  c.posterior.max_entry_draw_values = 0.1;
  c.posterior.route = PosteriorRoute::smc;
  c.posterior.cross_check = CrossCheckRoute::importance;
  c.posterior.importance_networks = 1234;
  c.posterior.smc_move = SamplerKind::mala;
  c.posterior.smc_ess_fraction = 0.3;
  c.fb.method = TiltMethod::importance_sampling;
  c.fb.damping = 0.3;
  c.fb.seed = 99;
  c.fb.gradient_form = TiltGradientForm::score;
  c.criticality.bias_variances = {0.0, 1.0 / 7.0};
  c.validation.study = "proportional";
  c.validation.alphas = {0.25, 1.0 / 3.0};
  c.validation.widths = {8, 16};
  c.validation.figures = false;
  c.run.seed = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  c.run.threads = 7;
  c.run.output_dir = "out/run 1";
  return c;
}

TEST(ConfigToml, EmptyTextGivesDefaults) { EXPECT_EQ(parse_config("", {}), Config{}); }

TEST(ConfigToml, DefaultsRoundTripExactly) {
  const Config defaults;
  EXPECT_EQ(parse_config(to_toml(defaults), {}), defaults) << to_toml(defaults);
}

TEST(ConfigToml, NonTrivialConfigRoundTripsExactly) {
  const Config c = non_trivial_config();
  ASSERT_NO_THROW(validate(c));
  const Config back = parse_config(to_toml(c), {});
  EXPECT_EQ(back, c) << to_toml(c);
  // Bitwise equality of the doubles, not only ==.
  for (std::size_t i = 0; i < c.model.g.size(); ++i)
    EXPECT_EQ(std::bit_cast<std::uint64_t>(back.model.g[i]), std::bit_cast<std::uint64_t>(c.model.g[i]));
}

TEST(ConfigToml, ReadsEverySectionAndKey) {
  const Config c = parse_config(R"(
# comment
[model]
depth = 2
width = 16            # the single-width spelling
activation = "relu"
g = 2                 # an integer is accepted for a number
bias_variance = 0.5
kappa = 0.25

[data]
kind = "teacher"
points = 12
input_dim = 5
noise = 0.0
teacher_width = 8
teacher_activation = "tanh"
csv_header = true

[prior]
widths = [8, 16]
networks = 100

[theory]
quadrature_tolerance = 1e-9
four_point = "quadrature"
four_point_nodes = 14
quadrature_max_points = 6
four_point_samples = 5000

[run]
seed = 42
threads = 2
output_dir = "out"
)",
                                {}, "t.toml");
  EXPECT_EQ(c.model.depth, 2);
  EXPECT_EQ(c.model.widths, (std::vector<Eigen::Index>{16}));
  EXPECT_EQ(c.model.activation, Activation::relu);
  EXPECT_EQ(c.model.g, (std::vector<double>{2.0}));
  EXPECT_EQ(c.model.bias_variance, 0.5);
  EXPECT_EQ(c.model.kappa, 0.25);
  EXPECT_EQ(c.data.kind, "teacher");
  EXPECT_EQ(c.data.points, 12);
  EXPECT_EQ(c.data.input_dim, 5);
  EXPECT_EQ(c.data.noise, 0.0);
  EXPECT_EQ(c.data.teacher_width, 8);
  EXPECT_EQ(c.data.teacher_activation, Activation::tanh);
  EXPECT_TRUE(c.data.csv_header);
  EXPECT_EQ(c.prior.widths, (std::vector<Eigen::Index>{8, 16}));
  EXPECT_EQ(c.prior.networks, 100);
  EXPECT_EQ(c.theory.quadrature_tolerance, 1e-9);
  EXPECT_EQ(c.theory.four_point, FourPointMethod::quadrature);
  EXPECT_EQ(c.theory.four_point_nodes, 14);
  EXPECT_EQ(c.theory.quadrature_max_points, 6);
  EXPECT_EQ(c.theory.four_point_samples, 5000);
  EXPECT_EQ(c.run.seed, 42u);
  EXPECT_EQ(c.run.threads, 2);
  EXPECT_EQ(c.run.output_dir, "out");
}

std::string config_error(std::string_view text, const std::vector<std::string>& overrides = {}) {
  try {
    parse_config(text, overrides, "t.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no ConfigError)";
}

TEST(ConfigToml, UnknownKeyIsRejectedByName) {
  const std::string message = config_error("[model]\ndepht = 3\n");
  EXPECT_NE(message.find("model.depht"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown key"), std::string::npos) << message;
}

TEST(ConfigToml, UnknownSectionIsRejectedByName) {
  const std::string message = config_error("[modle]\ndepth = 3\n");
  EXPECT_NE(message.find("[modle]"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown section"), std::string::npos) << message;
}

TEST(ConfigToml, TopLevelKeyAndNestedTableAreRejected) {
  EXPECT_NE(config_error("depth = 3\n").find("depth"), std::string::npos);
  EXPECT_NE(config_error("model = 3\n").find("model"), std::string::npos);
  EXPECT_NE(config_error("[model.sub]\nx = 1\n").find("model.sub"), std::string::npos);
}

TEST(ConfigToml, WrongTypeNamesFieldAndExpectedType) {
  const std::string message = config_error("[model]\ndepth = \"three\"\n");
  EXPECT_NE(message.find("model.depth"), std::string::npos) << message;
  EXPECT_NE(message.find("expected an integer"), std::string::npos) << message;
  EXPECT_NE(config_error("[run]\noutput_dir = 3\n").find("expected a string"), std::string::npos);
  EXPECT_NE(config_error("[model]\nkappa = true\n").find("expected a number"), std::string::npos);
}

TEST(ConfigToml, SyntaxErrorReportsSourceLineAndColumn) {
  const std::string message = config_error("[model]\ndepth = 3\nkappa = = 1\n");
  EXPECT_NE(message.find("t.toml line 3, column"), std::string::npos) << message;
}

TEST(ConfigToml, WidthAndWidthsTogetherAreRejected) {
  const std::string message = config_error("[model]\nwidth = 8\nwidths = [8]\n");
  EXPECT_NE(message.find("model.width"), std::string::npos) << message;
}

TEST(ConfigToml, OverridesWinOverFileValues) {
  const std::string file = "[model]\ndepth = 2\nwidths = [8, 8]\nkappa = 0.5\n";
  const Config c = parse_config(
      file, {"model.depth=3", "model.width=16", "model.activation=tanh", "run.output_dir=a b/c",
             " model.kappa = 2 ", "data.kind=config_b"});
  EXPECT_EQ(c.model.depth, 3);
  EXPECT_EQ(c.model.widths, (std::vector<Eigen::Index>{16}));
  EXPECT_EQ(c.model.activation, Activation::tanh);  // bare string
  EXPECT_EQ(c.run.output_dir, "a b/c");
  EXPECT_EQ(c.model.kappa, 2.0);
  EXPECT_EQ(c.data.kind, "config_b");
}

TEST(ConfigToml, TextOverridesTakeTheRawText) {
  // A string field keeps what the user typed, even if it reads as a TOML number; a
  // TOML string literal is unquoted.
  EXPECT_EQ(parse_config("", {"run.output_dir=2024"}).run.output_dir, "2024");
  EXPECT_EQ(parse_config("", {"run.output_dir=\"a b\""}).run.output_dir, "a b");
  EXPECT_EQ(parse_config("", {"run.output_dir=C:\\x\"y"}).run.output_dir, "C:\\x\"y");
  EXPECT_EQ(parse_config("", {"model.activation=\"relu\""}).model.activation, Activation::relu);
  // A file stays strict: 3 is not a string there.
  EXPECT_NE(config_error("[run]\noutput_dir = 3\n").find("run.output_dir"), std::string::npos);
}

TEST(ConfigToml, RawTextOverridesRoundTripAndMustBeUtf8) {
  // Found by fuzz_config: raw text bypassed TOML's UTF-8 check and did not round-trip.
  const std::string invalid = std::string("run.output_dir=89") + "\xcc\xcd\xf5\x92";
  EXPECT_NE(config_error("", {invalid}).find("not valid UTF-8"), std::string::npos);
  const Config c = parse_config("", {"run.output_dir=tab\there \"q\" back\\slash \x01 \xc3\xa9"});
  EXPECT_EQ(c.run.output_dir, "tab\there \"q\" back\\slash \x01 \xc3\xa9");
  EXPECT_EQ(parse_config(to_toml(c), {}), c);
}

TEST(ConfigToml, TheoryFbIsASubTableOfTheory) {
  const Config c = parse_config("[theory]\nfour_point_nodes = 20\n[theory.fb]\ndamping = 0.25\nmethod = \"first_order\"\n", {});
  EXPECT_EQ(c.theory.four_point_nodes, 20);
  EXPECT_EQ(c.fb.damping, 0.25);
  EXPECT_EQ(c.fb.method, TiltMethod::first_order);
  // Without [theory], and through --set.
  EXPECT_EQ(parse_config("[theory.fb]\nnewton = true\n", {}).fb.newton, true);
  EXPECT_EQ(parse_config("", {"theory.fb.max_iterations=7"}).fb.max_iterations, 7);
  EXPECT_NE(config_error("[theory.fbb]\ndamping = 0.2\n", {}).find("theory.fbb"), std::string::npos);
  EXPECT_NE(config_error("", {"theory.fb.dampng=0.2"}).find("theory.fb.dampng"), std::string::npos);
  EXPECT_NE(config_error("[theory]\nfb = 1\n", {}).find("theory.fb"), std::string::npos);
}

TEST(ConfigToml, LaterOverrideWins) {
  EXPECT_EQ(parse_config("", {"model.depth=2", "model.depth=5"}).model.depth, 5);
}

TEST(ConfigToml, OverridesApplyBeforeValidation) {
  // depth = 2 with three widths is invalid in the file alone; the override repairs it.
  EXPECT_NO_THROW(parse_config("[model]\ndepth = 2\nwidths = [4, 4, 4]\n", {"model.depth=3"}));
}

TEST(ConfigToml, MalformedOverridesAreRejectedByName) {
  for (const std::string bad : {"model.depth", "depth=3", "model.=3", ".depth=3", "a.b.c=1"}) {
    const std::string message = config_error("", {bad});
    EXPECT_NE(message.find(bad), std::string::npos) << bad << ": " << message;
  }
  EXPECT_NE(config_error("", {"model.dpth=3"}).find("model.dpth"), std::string::npos);
  EXPECT_NE(config_error("", {"modle.depth=3"}).find("modle"), std::string::npos);
}

TEST(ConfigToml, OverrideValueThatIsNotOneTomlValueIsAString) {
  // "3\nkappa = 2" would smuggle a second key in; it must be read as one string.
  const std::string message = config_error("", {"model.depth=3\nkappa = 2"});
  EXPECT_NE(message.find("model.depth"), std::string::npos) << message;
}

TEST(ConfigToml, LoadConfigReadsFileAndAppliesOverrides) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "kernelmc_config_toml_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / "c.toml";
  std::ofstream(path) << "[model]\ndepth = 2\n";
  const Config c = load_config(path, {"run.seed=7"});
  EXPECT_EQ(c.model.depth, 2);
  EXPECT_EQ(c.run.seed, 7u);
  std::ofstream(path) << "[model]\ndepth = 0\n";
  try {
    load_config(path, {});
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("model.depth"), std::string::npos);
  }
  std::ofstream(path) << "[model\n";
  try {
    load_config(path, {});
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find(path.string() + " line 1"), std::string::npos)
        << error.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(ConfigToml, MissingFileIsInputFileErrorNamingPath) {
  const std::filesystem::path path = "/nonexistent/kernelmc/missing.toml";
  try {
    load_config(path, {});
    FAIL();
  } catch (const InputFileError& error) {
    EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos);
  }
  EXPECT_THROW(load_config(::testing::TempDir(), {}), InputFileError);  // a directory
}

TEST(ConfigToml, JsonHoldsTheSameContent) {
  const Config c = non_trivial_config();
  const nlohmann::json j = nlohmann::json::parse(to_json(c));
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.size(), 9u);  // [theory.fb] is inside "theory"
  EXPECT_EQ(j["model"]["depth"], 4);
  EXPECT_EQ(j["model"]["widths"], nlohmann::json({7, 11, 13, 17}));
  EXPECT_EQ(j["model"]["activation"], "tanh");
  EXPECT_EQ(j["model"]["g"].get<std::vector<double>>(), c.model.g);  // exact doubles
  EXPECT_EQ(j["model"]["kappa"].get<double>(), c.model.kappa);
  EXPECT_EQ(j["data"]["inputs_csv"], c.data.inputs_csv);
  EXPECT_EQ(j["data"]["targets_csv"], c.data.targets_csv);
  EXPECT_EQ(j["data"]["csv_header"], true);
  EXPECT_EQ(j["prior"]["networks"], 2);
  EXPECT_EQ(j["theory"]["four_point"], "monte_carlo");
  EXPECT_EQ(j["theory"]["quadrature_tolerance"].get<double>(), 2.5e-13);
  EXPECT_EQ(j["run"]["seed"].get<std::uint64_t>(), c.run.seed);
  EXPECT_EQ(j["run"]["output_dir"], "out/run 1");
  EXPECT_EQ(j["sampler"]["kind"], "underdamped_langevin");
  EXPECT_EQ(j["sampler"]["metric"], "unit");
  // Same keys as the TOML sections.
  EXPECT_EQ(j["theory"]["fb"]["method"], "importance_sampling");
  EXPECT_EQ(j["posterior"]["form"], "full");
  EXPECT_EQ(j["validation"]["widths"], nlohmann::json({8, 16}));
  for (const char* section : {"model", "data", "prior", "theory", "sampler", "posterior", "criticality", "validation", "run"})
    EXPECT_TRUE(j.contains(section)) << section;
  EXPECT_EQ(j["data"].size(), 16u);
  EXPECT_EQ(j["data"]["classes"], nlohmann::json({9, 1}));
  EXPECT_EQ(j["validation"]["study"], "proportional");
}

TEST(ExampleConfigs, EdgeOfChaosExampleIsTheDefaultStudy) {
  const auto path = std::filesystem::path(KERNELMC_SOURCE_DIR) / "examples/prior_edge_of_chaos.toml";
  EXPECT_EQ(load_config(path, {}), Config{});
}

TEST(ExampleConfigs, ConfigAExampleIsTheorySection8ConfigA) {
  const auto path = std::filesystem::path(KERNELMC_SOURCE_DIR) / "examples/prior_config_a.toml";
  const Config c = load_config(path, {});
  EXPECT_EQ(c.data.kind, "config_a");
  EXPECT_EQ(c.model.activation, Activation::erf);
  EXPECT_EQ(c.model.depth, 3);
  EXPECT_EQ(c.model.g, (std::vector<double>{2.0}));
  EXPECT_EQ(c.model.bias_variance, 0.0);
}

}  // namespace
}  // namespace kernelmc::core
