// Tests of a sampler's saved state (Sampler::save_state / restore_state, write_phase_point):
// for every sampler, T transitions in one go and T₁ transitions, a save through a checkpoint
// frame, a restore into a freshly made sampler and the remaining T − T₁ transitions end at the
// same bits (position, momentum, step size, metric), whether the cut falls in warmup (inside
// an adaptation window, in the initial buffer) or in sampling. A state of another dimension is
// refused.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/checkpoint_io.hpp"
#include "core/error.hpp"
#include "sampling/integrators.hpp"
#include "sampling/sampler.hpp"
#include "sampling/test_potentials.hpp"

namespace kernelmc::sampling {
namespace {

// Stan's buffers 75 / 50 / 25: windows close at transitions 99, 149 and 249 (0-based).
constexpr Eigen::Index kWarmup = 300;
constexpr Eigen::Index kTotal = 380;  // 80 sampling transitions

testing::GaussianPotential correlated_gaussian() {
  Eigen::MatrixXd covariance(3, 3);
  covariance << 2.0, 0.6, 0.1, 0.6, 1.0, -0.3, 0.1, -0.3, 0.5;
  return testing::GaussianPotential(Eigen::Vector3d(0.5, -1.0, 0.2), covariance);
}

SamplerSettings settings_for(SamplerKind kind, bool metropolis_correction) {
  SamplerSettings s{.kind = kind};
  s.metric = MetricKind::diagonal;
  s.metropolis_correction = metropolis_correction;
  if (kind == SamplerKind::overdamped_langevin ||
      (kind == SamplerKind::underdamped_langevin && !metropolis_correction)) {
    s.adapt_step_size = false;
    s.step_size = 0.05;
  }
  return s;
}

// One chain's moving parts: what a chain runner owns.
struct Chain {
  std::unique_ptr<Potential> potential;
  std::unique_ptr<Sampler> sampler;
  PhasePoint state;
  core::Engine engine;
};

Chain fresh_chain(const SamplerSettings& settings, bool begin) {
  Chain c;
  c.potential = correlated_gaussian().clone();
  c.sampler = make_sampler(settings, *c.potential);
  c.engine = core::make_stream(5, core::StreamPurpose::test, 3, 0);
  c.state = make_phase_point(*c.potential, Eigen::Vector3d(0.3, 0.2, -0.4));
  if (begin) c.sampler->begin_warmup(c.state, kWarmup, c.engine);
  return c;
}

// Transitions from..to−1 (warmup ends before transition kWarmup).
void advance(Chain& c, Eigen::Index from, Eigen::Index to) {
  for (Eigen::Index t = from; t < to; ++t) {
    if (t == kWarmup) c.sampler->end_warmup();
    c.sampler->transition(c.state, c.engine);
  }
}

// c's state through a checkpoint frame into a freshly made chain.
Chain saved_and_restored(const Chain& c, const SamplerSettings& settings) {
  core::BinaryWriter out;
  c.sampler->save_state(out);
  write_phase_point(c.state, out);
  out.engine(c.engine);
  core::BinaryReader in(out.framed("state\n"), "state\n", "state");
  Chain r = fresh_chain(settings, false);
  r.sampler->restore_state(in);
  r.state = read_phase_point(in, 3);
  r.engine = in.engine();
  in.finish();
  return r;
}

void expect_same_bits(const Chain& a, const Chain& b, const std::string& what) {
  EXPECT_TRUE(a.state.q == b.state.q) << what;
  EXPECT_TRUE(a.state.p == b.state.p) << what;
  EXPECT_TRUE(a.state.gradient == b.state.gradient) << what;
  EXPECT_EQ(a.state.potential, b.state.potential) << what;
  EXPECT_EQ(a.sampler->step_size(), b.sampler->step_size()) << what;
  EXPECT_TRUE(a.sampler->metric().inverse_mass() == b.sampler->metric().inverse_mass()) << what;
  EXPECT_EQ(a.sampler->in_warmup(), b.sampler->in_warmup()) << what;
}

struct Case {
  SamplerKind kind;
  bool metropolis_correction;
};

TEST(SamplerState, SaveAndRestoreContinueTheChainBitForBit) {
  const std::vector<Case> cases = {{SamplerKind::hmc, true},
                                   {SamplerKind::nuts, true},
                                   {SamplerKind::mala, true},
                                   {SamplerKind::underdamped_langevin, true},
                                   {SamplerKind::underdamped_langevin, false},
                                   {SamplerKind::overdamped_langevin, false}};
  // In the initial buffer, inside the first window, just after it closed (new metric, restarted
  // dual averaging), inside the last window, after the last warmup transition (before
  // end_warmup) and in sampling.
  const std::vector<Eigen::Index> cuts = {30, 80, 100, 200, kWarmup, kWarmup + 37};
  for (const Case& k : cases) {
    const SamplerSettings settings = settings_for(k.kind, k.metropolis_correction);
    Chain straight = fresh_chain(settings, true);
    advance(straight, 0, kTotal);
    for (const Eigen::Index cut : cuts) {
      const std::string what = std::string(sampler_kind_name(k.kind)) +
                               (k.metropolis_correction ? "" : " (unadjusted)") + ", cut after " +
                               std::to_string(cut);
      Chain first = fresh_chain(settings, true);
      advance(first, 0, cut);
      Chain second = saved_and_restored(first, settings);
      advance(second, cut, kTotal);
      expect_same_bits(straight, second, what);
    }
  }
}

TEST(SamplerState, ARestoredStateMustFitTheSampler) {
  const SamplerSettings settings = settings_for(SamplerKind::hmc, true);
  Chain c = fresh_chain(settings, true);
  core::BinaryWriter out;
  c.sampler->save_state(out);
  write_phase_point(c.state, out);
  const testing::GaussianPotential wider(Eigen::VectorXd::Zero(4), Eigen::MatrixXd::Identity(4, 4));
  std::unique_ptr<Potential> potential = wider.clone();
  std::unique_ptr<Sampler> other = make_sampler(settings, *potential);
  core::BinaryReader in(out.framed("state\n"), "state\n", "state");
  EXPECT_THROW(other->restore_state(in), DataError);
  core::BinaryReader again(out.framed("state\n"), "state\n", "state");
  c.sampler->restore_state(again);
  EXPECT_THROW(read_phase_point(again, 4), DataError);
}

}  // namespace
}  // namespace kernelmc::sampling
