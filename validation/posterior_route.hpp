#pragma once
// The posterior of one width by exact-prior importance sampling or tempered SMC
// (posterior.route; sampling/importance_posterior.hpp, sampling/smc_posterior.hpp): every
// layer's E_post[C^(l)], E_prior[C^(l)] and ΔC^(l) from the same draws with replicate
// errors, the evidence log Z beside the NNGP evidence log N(Y; 0, C_GP^(L+1) + κI), and the
// route's diagnostics. `auto` runs importance sampling and keeps it while its PSIS k̂ ≤ 0.7;
// otherwise it runs SMC and reports both the k̂ that ruled importance out and the SMC result.
#include <Eigen/Core>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dataset.hpp"
#include "core/model_spec.hpp"
#include "sampling/replicated_kernel_estimate.hpp"
#include "sampling/smc.hpp"
#include "validation/observer.hpp"

namespace kernelmc::validation {

struct RouteRun {
  core::PosteriorRoute route = core::PosteriorRoute::importance;  // the route that ran: importance or smc
  Eigen::Index width = 0;                                        // N
  sampling::ReplicatedKernelEstimate kernels;                    // layers 1..L+1
  double log_evidence = 0.0;        // log Ẑ of the route
  double log_evidence_error = 0.0;  // its SE (delta method)
  double nngp_log_evidence = 0.0;   // log N(Y; 0, C_GP^(L+1) + κI)
  // Importance diagnostics (also kept when auto fell back to SMC; NaN if importance did not run).
  double pareto_k = 0.0;
  double effective_sample_size = 0.0;
  Eigen::Index networks = 0;
  std::string warning;  // why importance sampling was not trusted (empty when it was, or did not run)
  // SMC: per run, its β schedule with ESS, acceptance and step size; the mean acceptance.
  std::vector<std::vector<sampling::SmcStepInfo>> schedules;
  double mean_acceptance = 0.0;
  double seconds = 0.0;  // wall time (not reproducible)
};

// Runs posterior.route (auto, importance or smc; ConfigError for chains, which
// validation/posterior_run.hpp runs) at width N on `data` for config.model with seed
// config.run.seed: importance networks use make_stream(seed, prior_network, N, m) and SMC
// particles make_stream(seed, smc_particle, N, ·). Validates config and data. Progress: one
// stage per route run. With `partial`, importance keeps its finished blocks of networks and
// SMC its state between tempering steps there, each save tagged with its stage, and each
// continues a state of its own found there (sampling::run_importance_posterior,
// run_smc_posterior); once SMC has saved, `auto` reruns importance (deterministic) from the
// start.
RouteRun run_posterior_route(const core::Config& config, core::PosteriorRoute route, const core::Dataset& data,
                             Eigen::Index width, Observer& observer, core::PartialStateStore* partial = nullptr);

// The upper-triangle entries (core::upper_triangle order) of E_post[C^(l)] and ΔC^(l) with the
// covariance of each estimate over the replicates, Σ_r (x_r − x̄)(x_r − x̄)ᵀ/((R − 1)R), R − 1 dof:
// the form the validation study's comparisons take.
struct RouteLayerEstimate {
  Eigen::VectorXd posterior;              // E_post[C^(l)] entries (the route's point estimate)
  Eigen::MatrixXd posterior_covariance;   // of that estimate
  Eigen::VectorXd adaptation;             // ΔC^(l) entries
  Eigen::MatrixXd adaptation_covariance;
  Eigen::VectorXd prior;                  // E_prior[C^(l)] entries
  Eigen::MatrixXd prior_covariance;
  Eigen::Index degrees_of_freedom = 0;    // R − 1
};
RouteLayerEstimate route_layer_estimate(const RouteRun& run, Eigen::Index layer);
// The same from the replicates' entries (K×R columns of E_post and E_prior) and the route's
// point estimates (importance pools all networks, so they are not the replicates' means).
RouteLayerEstimate route_layer_estimate(const Eigen::MatrixXd& posterior_replicates,
                                        const Eigen::MatrixXd& prior_replicates, const Eigen::VectorXd& posterior,
                                        const Eigen::VectorXd& prior);

// The route the config asks for at the top level: chains, or one of run_posterior_route's.
bool route_uses_chains(core::PosteriorRoute route);

// A route run as plain numbers, one unit of the validation study (validation_study.hpp):
// per layer l (index l − 2) the replicates' upper-triangle entries and the point estimates.
struct RouteRecord {
  Eigen::Index width = 0;
  std::string route;                                // "importance" or "smc" (the route that ran)
  std::vector<Eigen::MatrixXd> posterior_replicates;  // [l−2]: K×R, E_post[C^(l)] per replicate
  std::vector<Eigen::MatrixXd> prior_replicates;      // [l−2]: K×R, E_prior[C^(l)] per replicate
  std::vector<RouteLayerEstimate> layers;           // [l−2]: point estimates and covariances
  double log_evidence = 0.0;
  double log_evidence_error = 0.0;
  double nngp_log_evidence = 0.0;
  double pareto_k = 0.0;                  // NaN when importance did not run
  double effective_sample_size = 0.0;
  Eigen::Index networks = 0;
  std::string warning;                    // importance not trusted (empty otherwise)
  bool trusted = true;                    // the estimates come from a route that is to be trusted
  double mean_acceptance = 0.0;           // SMC moves (0 for importance)
  Eigen::Index smc_steps = 0;             // tempering steps of the first SMC run
  double seconds = 0.0;
};
RouteRecord route_record(const RouteRun& run);

// The layer estimate from a subset of the replicates (`picks`, with repetition: a bootstrap
// resample): the mean of the picked replicates and the covariance of that mean.
RouteLayerEstimate resampled_route_estimate(const RouteRecord& record, std::size_t layer_index,
                                            const std::vector<Eigen::Index>& picks);

}  // namespace kernelmc::validation
