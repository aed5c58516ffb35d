#pragma once
// Report of an importance or SMC posterior run (validation/posterior_route.hpp) for
// `kernelmc sample` with posterior.route = importance, smc or auto: a terminal table and
// route.json. Nothing non-finite is written: n/a in the table, null in JSON.
#include <Eigen/Core>
#include <filesystem>
#include <string>
#include <utility>

#include "core/config.hpp"
#include "validation/posterior_route.hpp"

namespace kernelmc::validation {

// Per layer: tr E_post[C] and N·ŷᵀΔCŷ (ŷ = y/‖y‖, first target column) with SEs; the evidence
// log Z beside the NNGP evidence and their difference; the route's diagnostics.
std::string format_route_table(const RouteRun& run, const Eigen::MatrixXd& targets);

// Everything as JSON, with provenance (version, seed, resolved config).
std::string route_report_json(const RouteRun& run, const core::Config& config, const Eigen::MatrixXd& targets);

// Writes route.json into `directory` (atomically) and returns its path.
std::filesystem::path write_route_report(const RouteRun& run, const core::Config& config,
                                         const Eigen::MatrixXd& targets, const std::filesystem::path& directory);

// N·ŷᵀΔC^(l)ŷ and its SE (ŷ = first target column, normalised): the adaptation along the target.
std::pair<double, double> target_adaptation(const RouteRun& run, Eigen::Index layer, const Eigen::MatrixXd& targets);

}  // namespace kernelmc::validation
