#include "validation/posterior_route.hpp"

#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/kernel_stack.hpp"
#include "sampling/diagnostics/pareto_k.hpp"
#include "sampling/importance_posterior.hpp"
#include "sampling/smc_posterior.hpp"
#include "theory/nngp.hpp"

namespace kernelmc::validation {

namespace {

// Accuracy of the NNGP kernel for the evidence: far below any Monte Carlo error of log Z.
constexpr double kNngpTolerance = 1e-10;

// One stage's view of a route unit's partial state: `auto` runs importance and then SMC
// through the unit's one store, so each save carries its stage, and a save of the other
// stage is none for this one.
class StagePartialState final : public core::PartialStateStore {
 public:
  enum Stage : std::int64_t { importance = 0, smc = 1 };
  StagePartialState(core::PartialStateStore& unit, Stage stage) : unit_(unit), stage_(stage) {}
  std::optional<core::BinaryReader> load() override {
    std::optional<core::BinaryReader> in = unit_.load();
    if (!in || in->integer() != stage_) return std::nullopt;
    return in;
  }
  bool due() override { return unit_.due(); }
  void save(const core::BinaryWriter& state) override {
    core::BinaryWriter tagged;
    tagged.integer(stage_);
    tagged.append(state);
    unit_.save(tagged);
  }

 private:
  core::PartialStateStore& unit_;
  Stage stage_;
};

sampling::SmcPosteriorSettings smc_settings(const core::PosteriorSettings& p, std::uint64_t seed, Eigen::Index width) {
  sampling::SmcPosteriorSettings s;
  s.smc.particles = p.smc_particles;
  s.smc.ess_fraction = p.smc_ess_fraction;
  s.smc.rejuvenation_steps = static_cast<int>(p.smc_rejuvenation_steps);
  s.smc.move = p.smc_move;
  s.smc.initial_step_size = p.smc_step_size;
  s.smc.integration_time = p.smc_integration_time;
  s.smc.target_accept = p.smc_target_accept;
  s.smc.seed = seed;
  s.smc.stream_width = static_cast<std::uint64_t>(width);
  s.replicates = p.smc_replicates;
  return s;
}

// The estimates every route gives.
void take_estimates(core::PosteriorRoute route, const sampling::ReplicatedKernelEstimate& kernels,
                    double log_evidence, double log_evidence_error, RouteRun& run) {
  run.route = route;
  run.kernels = kernels;
  run.log_evidence = log_evidence;
  run.log_evidence_error = log_evidence_error;
}

void run_importance(const core::Config& config, const core::ModelSpec& spec, const core::Dataset& data,
                    RouteRun& run, core::PartialStateStore* partial) {
  const sampling::ImportancePosterior ip = sampling::run_importance_posterior(
      spec, data,
      {.networks = config.posterior.importance_networks, .batches = config.posterior.importance_batches,
       .seed = config.run.seed},
      partial);
  take_estimates(core::PosteriorRoute::importance, ip.kernels, ip.log_evidence, ip.log_evidence_error, run);
  run.pareto_k = ip.pareto_k;
  run.effective_sample_size = ip.effective_sample_size;
  run.networks = ip.log_weights.size();
  run.warning = ip.warning;
}

void run_smc(const core::Config& config, const core::ModelSpec& spec, const core::Dataset& data, RouteRun& run,
             core::PartialStateStore* partial) {
  const sampling::SmcPosterior smc =
      sampling::run_smc_posterior(spec, data, smc_settings(config.posterior, config.run.seed, run.width), partial);
  take_estimates(core::PosteriorRoute::smc, smc.kernels, smc.log_evidence, smc.log_evidence_error, run);
  run.schedules = smc.schedules;
  run.mean_acceptance = smc.mean_acceptance;
}

// Σ_r (x_r − x̄)(x_r − x̄)ᵀ/((R − 1)R) of the columns x_r.
Eigen::MatrixXd covariance_of_mean(const Eigen::MatrixXd& columns) {
  const double R = static_cast<double>(columns.cols());
  const Eigen::MatrixXd centred = columns.colwise() - columns.rowwise().mean();
  return centred * centred.transpose() / ((R - 1.0) * R);
}

}  // namespace

namespace {

// The replicates' upper-triangle entries of E_post[C^(l)] and E_prior[C^(l)], one column each.
std::pair<Eigen::MatrixXd, Eigen::MatrixXd> replicate_columns(const sampling::ReplicatedKernelEstimate& k,
                                                              Eigen::Index layer) {
  const Eigen::Index K = core::triangle_size(k.posterior_mean.layer(layer).rows());
  Eigen::MatrixXd post(K, k.replicates()), prior(K, k.replicates());
  for (Eigen::Index r = 0; r < k.replicates(); ++r) {
    post.col(r) = core::upper_triangle(k.posterior_replicates[static_cast<std::size_t>(r)].layer(layer));
    prior.col(r) = core::upper_triangle(k.prior_replicates[static_cast<std::size_t>(r)].layer(layer));
  }
  return {std::move(post), std::move(prior)};
}

// Means of the replicate columns and the covariances of those means (R − 1 dof).
RouteLayerEstimate estimate_from_replicates(const Eigen::MatrixXd& post, const Eigen::MatrixXd& prior) {
  RouteLayerEstimate e;
  e.posterior = post.rowwise().mean();
  e.prior = prior.rowwise().mean();
  e.adaptation = e.posterior - e.prior;
  e.posterior_covariance = covariance_of_mean(post);
  e.prior_covariance = covariance_of_mean(prior);
  e.adaptation_covariance = covariance_of_mean(post - prior);
  e.degrees_of_freedom = post.cols() - 1;
  return e;
}

}  // namespace

RouteLayerEstimate route_layer_estimate(const RouteRun& run, Eigen::Index layer) {
  const auto [post, prior] = replicate_columns(run.kernels, layer);
  return route_layer_estimate(post, prior, core::upper_triangle(run.kernels.posterior_mean.layer(layer)),
                              core::upper_triangle(run.kernels.prior_mean.layer(layer)));
}

RouteLayerEstimate route_layer_estimate(const Eigen::MatrixXd& posterior_replicates,
                                        const Eigen::MatrixXd& prior_replicates, const Eigen::VectorXd& posterior,
                                        const Eigen::VectorXd& prior) {
  RouteLayerEstimate e = estimate_from_replicates(posterior_replicates, prior_replicates);
  // The route's own point estimates (importance: pooled over all networks).
  e.posterior = posterior;
  e.prior = prior;
  e.adaptation = e.posterior - e.prior;
  return e;
}

RouteRecord route_record(const RouteRun& run) {
  RouteRecord r;
  r.width = run.width;
  r.route = std::string(core::posterior_route_name(run.route));
  for (Eigen::Index l = 2; l <= run.kernels.posterior_mean.top_layer(); ++l) {
    auto [post, prior] = replicate_columns(run.kernels, l);
    r.posterior_replicates.push_back(std::move(post));
    r.prior_replicates.push_back(std::move(prior));
    r.layers.push_back(route_layer_estimate(run, l));
  }
  r.log_evidence = run.log_evidence;
  r.log_evidence_error = run.log_evidence_error;
  r.nngp_log_evidence = run.nngp_log_evidence;
  r.pareto_k = run.pareto_k;
  r.effective_sample_size = run.effective_sample_size;
  r.networks = run.networks;
  r.warning = run.warning;
  r.trusted = run.route == core::PosteriorRoute::smc || run.warning.empty();
  r.mean_acceptance = run.mean_acceptance;
  r.smc_steps = run.schedules.empty() ? 0 : static_cast<Eigen::Index>(run.schedules.front().size());
  r.seconds = run.seconds;
  return r;
}

RouteLayerEstimate resampled_route_estimate(const RouteRecord& record, std::size_t layer_index,
                                            const std::vector<Eigen::Index>& picks) {
  return estimate_from_replicates(record.posterior_replicates[layer_index](Eigen::all, picks),
                                  record.prior_replicates[layer_index](Eigen::all, picks));
}

bool route_uses_chains(core::PosteriorRoute route) { return route == core::PosteriorRoute::chains; }

RouteRun run_posterior_route(const core::Config& config, core::PosteriorRoute route, const core::Dataset& data,
                             Eigen::Index width, Observer& observer, core::PartialStateStore* partial) {
  core::validate(config);
  if (route_uses_chains(route))
    throw ConfigError("posterior.route = chains: run_posterior_route runs auto, importance or smc");
  const core::ModelSpec spec =
      core::with_uniform_width(core::resolve_model(config.model, data.input_dim(), data.output_dim()), width);
  core::check_fits(data, spec);
  const auto start = std::chrono::steady_clock::now();
  RouteRun run;
  run.width = width;
  run.pareto_k = std::numeric_limits<double>::quiet_NaN();
  run.effective_sample_size = std::numeric_limits<double>::quiet_NaN();
  observer.begin_stage(std::string(core::posterior_route_name(route)) + " N=" + std::to_string(width), 1);
  std::optional<StagePartialState> importance_partial, smc_partial;
  if (partial != nullptr) {
    importance_partial.emplace(*partial, StagePartialState::importance);
    smc_partial.emplace(*partial, StagePartialState::smc);
  }
  // After SMC has saved, `auto` reruns importance (deterministic) without saving over SMC's state.
  const bool smc_saved = smc_partial && smc_partial->load().has_value();
  if (route != core::PosteriorRoute::smc)
    run_importance(config, spec, data, run, importance_partial && !smc_saved ? &*importance_partial : nullptr);
  if (route == core::PosteriorRoute::smc || (route == core::PosteriorRoute::automatic && !run.warning.empty()))
    run_smc(config, spec, data, run, smc_partial ? &*smc_partial : nullptr);
  observer.advance(1);
  observer.end_stage();
  const core::KernelStack gp = theory::nngp_kernels(spec, data.inputs, kNngpTolerance);
  Eigen::LLT<Eigen::MatrixXd> llt(data.size());
  run.nngp_log_evidence = sampling::gaussian_process_log_evidence(gp.layer(spec.depth() + 1), spec.kappa, data.targets, llt);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

}  // namespace kernelmc::validation
