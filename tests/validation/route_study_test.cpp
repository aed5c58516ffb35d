// The validation study with posterior.route = importance, smc or auto
// (validation/validation_study.hpp, validation/posterior_route.hpp): one route unit per width,
// the layer estimates taken from the route (ΔC's error from the replicates of the difference
// itself), the evidence beside the NNGP's, and the NNGP's zero adaptation among the comparisons.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/dataset_generators.hpp"
#include "core/error.hpp"
#include "validation/route_cross_check.hpp"
#include "validation/validation_records_io.hpp"
#include "validation/validation_study.hpp"

namespace kernelmc::validation {
namespace {

// Config B (THEORY.md §8.1: erf, g = 2, L = 2, κ = 1), two small widths, few networks.
core::Config route_config(core::PosteriorRoute route) {
  core::Config c;
  c.data.kind = "config_b";
  c.model.depth = 2;
  c.model.g = {2.0};
  c.model.kappa = 1.0;
  c.validation.widths = {8, 16};
  c.validation.prior_networks = 2000;  // the prior unit per width (its N·Var⟨T, C⟩)
  c.validation.bootstrap_resamples = 20;
  c.validation.figures = false;
  c.posterior.route = route;
  c.posterior.importance_networks = 4000;
  c.posterior.importance_batches = 20;
  c.posterior.smc_particles = 64;
  c.posterior.smc_replicates = 3;
  c.run.seed = 13;
  return c;
}

TEST(RouteStudy, APriorAndARouteUnitPerWidthAndTheEstimatesComeFromTheRoute) {
  const core::Config c = route_config(core::PosteriorRoute::importance);
  const std::vector<StudyUnit> units = study_units(c);
  ASSERT_EQ(units.size(), 4u);
  EXPECT_EQ(units[0].kind, StudyUnitKind::prior);
  EXPECT_EQ(units[1].kind, StudyUnitKind::route);
  EXPECT_EQ(unit_name(units[3]), "route N=16");

  const core::Dataset data = core::make_dataset(c.data, c.run.seed);
  SilentObserver silent;
  const ValidationResult r = run_validation(c, data, silent);
  ASSERT_EQ(r.widths.size(), 2u);
  for (const WidthValidation& w : r.widths) {
    EXPECT_EQ(w.route, "importance");
    EXPECT_TRUE(w.compared);
    EXPECT_TRUE(std::isfinite(w.log_evidence) && std::isfinite(w.nngp_log_evidence));
    EXPECT_LT(w.pareto_k, 0.7);
    for (const LayerValidation& l : w.layers) {
      // ΔC = E_post − E_prior exactly (same draws), and its SE is not the sum of the two.
      EXPECT_LT((l.adaptation - (l.posterior_mean - l.prior_mean)).cwiseAbs().maxCoeff(), 1e-14);
      EXPECT_LT(l.adaptation_se(0, 0), l.posterior_mean_se(0, 0));
      bool nngp_adaptation = false;
      for (const TheoryComparison& t : l.comparisons)
        nngp_adaptation |= t.theory == "nngp" && t.quantity == "adaptation" && t.prediction.isZero();
      EXPECT_TRUE(nngp_adaptation) << "layer " << l.layer;
    }
  }
}

TEST(RouteStudy, SmcRouteRunsAndReportsItsEvidence) {
  const core::Config c = route_config(core::PosteriorRoute::smc);
  const core::Dataset data = core::make_dataset(c.data, c.run.seed);
  SilentObserver silent;
  const StudyRecords records = compute_records(c, data, study_units(c), silent);
  ASSERT_EQ(records.routes.size(), 2u);
  EXPECT_EQ(records.routes[0].route, "smc");
  EXPECT_TRUE(std::isnan(records.routes[0].pareto_k));
  EXPECT_GE(records.routes[0].smc_steps, 1);
  EXPECT_EQ(records.routes[0].posterior_replicates.front().cols(), 3);
  const ValidationResult r = analyze_records(records, data, silent);
  EXPECT_TRUE(std::isfinite(r.widths[1].log_evidence_error));
}

void expect_same_layer(const RouteLayerEstimate& a, const RouteLayerEstimate& b) {
  EXPECT_EQ(a.posterior, b.posterior);
  EXPECT_EQ(a.posterior_covariance, b.posterior_covariance);
  EXPECT_EQ(a.adaptation, b.adaptation);
  EXPECT_EQ(a.adaptation_covariance, b.adaptation_covariance);
  EXPECT_EQ(a.prior, b.prior);
  EXPECT_EQ(a.prior_covariance, b.prior_covariance);
  EXPECT_EQ(a.degrees_of_freedom, b.degrees_of_freedom);
}

// A route unit costs networks·P·N·L like a prior unit of as many networks, so the pool
// starts the widest width first. Its record (and the route study's prior record, which keeps
// no covariance but the target projection) round-trips through the records files bit for
// bit, non-finite scalars included: shards of a route study merge exactly.
TEST(RouteStudy, RouteUnitsAreScheduledByCostAndTheirRecordsRoundTripBitForBit) {
  const core::Config c = route_config(core::PosteriorRoute::importance);
  const core::Dataset data = core::make_dataset(c.data, c.run.seed);
  const std::vector<StudyUnit> units = study_units(c);  // prior 8, route 8, prior 16, route 16
  EXPECT_DOUBLE_EQ(unit_cost(c, data, units[3]), 4000.0 * 4.0 * 16.0 * 2.0);
  EXPECT_EQ(schedule_units(c, data, units).front(), units[3]);
  SilentObserver silent;
  StudyRecords records = compute_records(c, data, {units[0], units[1]}, silent);
  ASSERT_EQ(records.routes.size(), 1u);
  ASSERT_EQ(records.priors.size(), 1u);
  records.routes[0].mean_acceptance = std::numeric_limits<double>::quiet_NaN();
  records.routes[0].nngp_log_evidence = -std::numeric_limits<double>::infinity();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "kernelmc_route_records";
  std::filesystem::remove_all(dir);
  write_records(records, dir);
  const StudyRecords back = read_records(dir);
  EXPECT_EQ(back.units, records.units);
  ASSERT_EQ(back.routes.size(), 1u);
  const RouteRecord &r = records.routes[0], &q = back.routes[0];
  EXPECT_EQ(q.width, r.width);
  EXPECT_EQ(q.route, r.route);
  EXPECT_EQ(q.posterior_replicates, r.posterior_replicates);
  EXPECT_EQ(q.prior_replicates, r.prior_replicates);
  ASSERT_EQ(q.layers.size(), r.layers.size());
  for (std::size_t l = 0; l < r.layers.size(); ++l) expect_same_layer(q.layers[l], r.layers[l]);
  EXPECT_EQ(q.log_evidence, r.log_evidence);
  EXPECT_EQ(q.log_evidence_error, r.log_evidence_error);
  EXPECT_EQ(q.nngp_log_evidence, r.nngp_log_evidence);
  EXPECT_EQ(q.pareto_k, r.pareto_k);
  EXPECT_EQ(q.effective_sample_size, r.effective_sample_size);
  EXPECT_EQ(q.networks, r.networks);
  EXPECT_EQ(q.warning, r.warning);
  EXPECT_EQ(q.trusted, r.trusted);
  EXPECT_TRUE(std::isnan(q.mean_acceptance));
  EXPECT_EQ(q.smc_steps, r.smc_steps);
  ASSERT_EQ(back.priors.size(), 1u);
  EXPECT_TRUE(back.priors[0].covariance.empty());
  EXPECT_EQ(back.priors[0].mean, records.priors[0].mean);
  EXPECT_EQ(back.priors[0].target_variance, records.priors[0].target_variance);
  EXPECT_FALSE(records.priors[0].target_variance.empty());
}

TEST(RouteCrossCheck, ThresholdsAreStudentTForTheWelchDegreesOfFreedom) {
  // Equal SEs on 3 and 3 dof: Welch ν = (2v)²/(2v²/3) = 6; t₆ two-sided 1 % quantile 3.7074
  // (tables); a huge second dof leaves ν → 3 for a dominant first SE; no dof: the normal 2.5758.
  EXPECT_NEAR(welch_t_threshold(1.0, 3, 1.0, 3, 0.01), 3.7074, 1e-4);
  EXPECT_NEAR(welch_t_threshold(1.0, 3, 1e-6, 1000000, 0.01), 5.8409, 1e-3);
  EXPECT_NEAR(welch_t_threshold(1.0, 0, 1.0, 3, 0.01), 2.5758, 1e-4);
}

}  // namespace
}  // namespace kernelmc::validation
