// Tests of sampling/sampler: settings validation, the factory, and the contract every
// sampler keeps: no non-finite energy enters the chain (it is rejected and counted as
// divergent), the same seed gives the same chain, warmup adapts and end_warmup freezes.
#include "sampling/sampler.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "sampling/hmc.hpp"
#include "sampling/integrators.hpp"
#include "sampling/mala.hpp"
#include "sampling/nuts.hpp"
#include "sampling/overdamped_langevin.hpp"
#include "sampling/test_potentials.hpp"
#include "sampling/underdamped_langevin.hpp"

namespace kernelmc::sampling {
namespace {

// Settings that validate for `kind`: step adaptation only where there is an acceptance.
SamplerSettings settings_for(SamplerKind kind) {
  SamplerSettings s{.kind = kind};
  if (kind == SamplerKind::overdamped_langevin) s.adapt_step_size = false;
  return s;
}

void expect_config_error_naming(const SamplerSettings& s, const std::string& field) {
  try {
    validate(s);
    ADD_FAILURE() << "no ConfigError for sampler." << field;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("sampler." + field + " = "), std::string::npos) << e.what();
  }
}

TEST(SamplerSettings, DefaultsAreValid) {
  EXPECT_NO_THROW(validate(SamplerSettings{}));
  for (SamplerKind kind : {SamplerKind::hmc, SamplerKind::nuts, SamplerKind::mala,
                           SamplerKind::underdamped_langevin, SamplerKind::overdamped_langevin})
    EXPECT_NO_THROW(validate(settings_for(kind))) << sampler_kind_name(kind);
}

TEST(SamplerSettings, EveryBadFieldThrowsConfigErrorNamingIt) {
  const std::vector<std::pair<std::string, std::function<void(SamplerSettings&)>>> cases = {
      {"kind", [](SamplerSettings& s) { s.kind = static_cast<SamplerKind>(17); }},
      {"metric", [](SamplerSettings& s) { s.metric = static_cast<MetricKind>(-1); }},
      {"step_size", [](SamplerSettings& s) { s.step_size = 0.0; }},
      {"step_size", [](SamplerSettings& s) { s.step_size = std::numeric_limits<double>::infinity(); }},
      {"integration_time", [](SamplerSettings& s) { s.integration_time = -1.0; }},
      {"max_tree_depth", [](SamplerSettings& s) { s.max_tree_depth = 0; }},
      {"max_tree_depth", [](SamplerSettings& s) { s.max_tree_depth = 31; }},
      {"max_energy_error", [](SamplerSettings& s) { s.max_energy_error = 0.0; }},
      {"max_energy_error", [](SamplerSettings& s) { s.max_energy_error = std::nan(""); }},
      {"friction", [](SamplerSettings& s) { s.friction = 0.0; }},
      {"target_accept", [](SamplerSettings& s) { s.target_accept = 1.2; }},
      {"target_accept", [](SamplerSettings& s) { s.target_accept = 0.0; }},
      {"adapt_gamma", [](SamplerSettings& s) { s.adapt_gamma = -0.05; }},
      {"adapt_kappa", [](SamplerSettings& s) { s.adapt_kappa = 1.5; }},
      {"adapt_t0", [](SamplerSettings& s) { s.adapt_t0 = 0.0; }},
      {"adapt_init_buffer", [](SamplerSettings& s) { s.adapt_init_buffer = -1; }},
      {"adapt_term_buffer", [](SamplerSettings& s) { s.adapt_term_buffer = -1; }},
      {"adapt_base_window", [](SamplerSettings& s) { s.adapt_base_window = 1; }},
  };
  for (const auto& [field, spoil] : cases) {
    SamplerSettings s;
    spoil(s);
    expect_config_error_naming(s, field);
  }
}

TEST(SamplerSettings, StepSizeAdaptationNeedsAnAcceptanceStatistic) {
  expect_config_error_naming(SamplerSettings{.kind = SamplerKind::overdamped_langevin}, "adapt_step_size");
  expect_config_error_naming(
      SamplerSettings{.kind = SamplerKind::underdamped_langevin, .metropolis_correction = false},
      "adapt_step_size");
  EXPECT_NO_THROW(validate(SamplerSettings{
      .kind = SamplerKind::underdamped_langevin, .metropolis_correction = false, .adapt_step_size = false}));
}

TEST(MakeSampler, BuildsTheRequestedKindAndValidates) {
  auto U = testing::correlated_gaussian();
  EXPECT_NE(dynamic_cast<HmcSampler*>(make_sampler(settings_for(SamplerKind::hmc), U).get()), nullptr);
  EXPECT_NE(dynamic_cast<NutsSampler*>(make_sampler(settings_for(SamplerKind::nuts), U).get()), nullptr);
  EXPECT_NE(dynamic_cast<MalaSampler*>(make_sampler(settings_for(SamplerKind::mala), U).get()), nullptr);
  EXPECT_NE(dynamic_cast<UnderdampedLangevinSampler*>(
                make_sampler(settings_for(SamplerKind::underdamped_langevin), U).get()),
            nullptr);
  EXPECT_NE(dynamic_cast<OverdampedLangevinSampler*>(
                make_sampler(settings_for(SamplerKind::overdamped_langevin), U).get()),
            nullptr);
  EXPECT_THROW(make_sampler(SamplerSettings{.step_size = -1.0}, U), ConfigError);
}

TEST(Sampler, WithoutWarmupNothingAdapts) {
  auto U = testing::correlated_gaussian();
  auto sampler = make_sampler(SamplerSettings{.step_size = 0.37}, U);
  PhasePoint state = make_phase_point(U, U.mean());
  core::Engine engine = core::make_stream(6, core::StreamPurpose::test, 0, 0);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(sampler->transition(state, engine).step_size, 0.37);
  EXPECT_FALSE(sampler->in_warmup());
  EXPECT_EQ(sampler->metric().inverse_mass(), Eigen::VectorXd::Ones(5));
}

TEST(Sampler, InitialStepSizeSearchFailsOnFlatPotential) {
  testing::FlatPotential U(2);
  auto sampler = make_sampler(SamplerSettings{}, U);
  const PhasePoint state = make_phase_point(U, Eigen::VectorXd::Zero(2));
  core::Engine engine = core::make_stream(7, core::StreamPurpose::test, 0, 0);
  EXPECT_THROW(sampler->begin_warmup(state, 100, engine), NumericalError);
}

class EverySampler : public ::testing::TestWithParam<SamplerKind> {};

std::vector<Eigen::VectorXd> run(Sampler& sampler, Potential& U, Eigen::Index n_warmup, Eigen::Index n,
                                 std::uint64_t seed, int* divergences = nullptr) {
  PhasePoint state = make_phase_point(U, Eigen::VectorXd::Constant(U.dimension(), -0.2));
  core::Engine engine = core::make_stream(seed, core::StreamPurpose::test, 0, 0);
  std::vector<Eigen::VectorXd> chain;
  if (n_warmup > 0) {
    sampler.begin_warmup(state, n_warmup, engine);
    for (Eigen::Index i = 0; i < n_warmup; ++i) sampler.transition(state, engine);
    sampler.end_warmup();
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    const TransitionInfo info = sampler.transition(state, engine);
    if (divergences != nullptr) *divergences += info.divergent;
    EXPECT_TRUE(std::isfinite(info.energy));
    EXPECT_TRUE(std::isfinite(state.potential) && state.q.allFinite() && state.gradient.allFinite());
    chain.push_back(state.q);
  }
  return chain;
}

TEST_P(EverySampler, RejectsNonFiniteEnergyAndCountsDivergence) {
  // U is NaN beyond q₀ = 0.5, one standard deviation from the mode: proposals cross often.
  testing::WalledPotential U(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2), 0.5);
  SamplerSettings s = settings_for(GetParam());
  s.step_size = 0.3;
  s.integration_time = 1.5;
  auto sampler = make_sampler(s, U);
  int divergences = 0;
  const auto chain = run(*sampler, U, 0, 2000, 8, &divergences);
  for (const Eigen::VectorXd& q : chain) ASSERT_LE(q(0), 0.5);
  EXPECT_GT(divergences, 0);
}

TEST_P(EverySampler, SameSeedGivesBitIdenticalChain) {
  auto U = testing::correlated_gumbel();
  auto a = make_sampler(settings_for(GetParam()), U);
  auto b = make_sampler(settings_for(GetParam()), U);
  auto c = make_sampler(settings_for(GetParam()), U);
  const auto chain_a = run(*a, U, 150, 100, 9);
  EXPECT_EQ(chain_a, run(*b, U, 150, 100, 9));
  EXPECT_NE(chain_a, run(*c, U, 150, 100, 10));
}

TEST_P(EverySampler, WarmupAdaptsAndEndWarmupFreezes) {
  auto U = testing::anisotropic_gaussian();
  SamplerSettings s = settings_for(GetParam());
  s.step_size = 1e-3;  // stable for every sampler on the 0.01 scale
  auto sampler = make_sampler(s, U);
  PhasePoint state = make_phase_point(U, U.mean());
  core::Engine engine = core::make_stream(11, core::StreamPurpose::test, 0, 0);
  sampler->begin_warmup(state, 200, engine);
  EXPECT_TRUE(sampler->in_warmup());
  for (int i = 0; i < 200; ++i) sampler->transition(state, engine);
  sampler->end_warmup();
  EXPECT_FALSE(sampler->in_warmup());
  // The diagonal metric moved away from the identity (variances span 1e-4 … 1e4).
  EXPECT_GT((sampler->metric().inverse_mass() - Eigen::VectorXd::Ones(5)).norm(), 1.0);
  if (s.adapt_step_size) {
    EXPECT_NE(sampler->step_size(), 1e-3);
  }
  const double frozen = sampler->step_size();
  const Eigen::VectorXd metric = sampler->metric().inverse_mass();
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sampler->transition(state, engine).step_size, frozen);
  EXPECT_EQ(sampler->metric().inverse_mass(), metric);
}

INSTANTIATE_TEST_SUITE_P(Samplers, EverySampler,
                         ::testing::Values(SamplerKind::hmc, SamplerKind::nuts, SamplerKind::mala,
                                           SamplerKind::underdamped_langevin, SamplerKind::overdamped_langevin),
                         [](const auto& info) { return std::string(sampler_kind_name(info.param)); });

}  // namespace
}  // namespace kernelmc::sampling
