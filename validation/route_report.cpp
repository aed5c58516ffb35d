#include "validation/route_report.hpp"

#include <nlohmann/json.hpp>
#include <cmath>
#include <sstream>
#include <utility>

#include "core/json_io.hpp"
#include "validation/detail/report_json.hpp"

namespace kernelmc::validation {

namespace {

using nlohmann::ordered_json;
using detail::matrix_json;
using detail::number_or_null;
using detail::printf_number;

std::string cell(const char* format, double value) {
  return std::isfinite(value) ? printf_number(format, value) : std::string("n/a");
}

ordered_json schedule_json(const std::vector<sampling::SmcStepInfo>& steps) {
  ordered_json out = ordered_json::array();
  for (const sampling::SmcStepInfo& s : steps) {
    out.push_back({{"beta", s.beta},
                   {"log_evidence_increment", number_or_null(s.log_evidence_increment)},
                   {"ess_fraction", number_or_null(s.ess_fraction)},
                   {"acceptance", number_or_null(s.acceptance)},
                   {"step_size", number_or_null(s.step_size)}});
  }
  return out;
}

ordered_json layer_json(const RouteRun& run, Eigen::Index l, const Eigen::MatrixXd& targets) {
  const auto [along, along_se] = target_adaptation(run, l, targets);
  return {{"layer", l},
          {"posterior_mean", matrix_json(run.kernels.posterior_mean.layer(l))},
          {"posterior_error", matrix_json(run.kernels.posterior_error(l))},
          {"prior_mean", matrix_json(run.kernels.prior_mean.layer(l))},
          {"prior_error", matrix_json(run.kernels.prior_error(l))},
          {"adaptation", matrix_json(run.kernels.adaptation(l))},
          {"adaptation_error", matrix_json(run.kernels.adaptation_error(l))},
          {"target_adaptation", number_or_null(along)},
          {"target_adaptation_error", number_or_null(along_se)}};
}

}  // namespace

std::pair<double, double> target_adaptation(const RouteRun& run, Eigen::Index layer, const Eigen::MatrixXd& targets) {
  const Eigen::VectorXd y = targets.col(0).normalized();
  const double N = static_cast<double>(run.width);
  const auto along = [&](const Eigen::MatrixXd& delta) { return N * y.dot(delta * y); };
  return {along(run.kernels.adaptation(layer)), run.kernels.adaptation_functional_error(layer, along)};
}

std::string format_route_table(const RouteRun& run, const Eigen::MatrixXd& targets) {
  std::ostringstream out;
  out << "posterior route: " << core::posterior_route_name(run.route) << " at N = " << run.width << " ("
      << run.kernels.replicates() << " independent replicates, errors with " << run.kernels.degrees_of_freedom()
      << " dof; " << cell("%.1f", run.seconds) << " s)\n";
  out << "layer   tr E_post[C]        N yhat' dC yhat\n";
  for (Eigen::Index l = 2; l <= run.kernels.posterior_mean.top_layer(); ++l) {
    const auto [along, along_se] = target_adaptation(run, l, targets);
    const double trace = run.kernels.posterior_mean.layer(l).trace();
    out << "  " << l << "     " << cell("%10.5f", trace) << "      " << cell("%+.5f", along) << " +- "
        << cell("%.5f", along_se) << "\n";
  }
  out << "log Z = " << cell("%.5f", run.log_evidence) << " +- " << cell("%.5f", run.log_evidence_error)
      << ", NNGP log Z = " << cell("%.5f", run.nngp_log_evidence)
      << ", difference = " << cell("%+.5f", run.log_evidence - run.nngp_log_evidence) << "\n";
  if (std::isfinite(run.pareto_k))
    out << "importance: " << run.networks << " networks, Kish ESS " << cell("%.0f", run.effective_sample_size)
        << ", PSIS k-hat " << cell("%.3f", run.pareto_k) << "\n";
  if (!run.warning.empty()) out << "warning: " << run.warning << "\n";
  if (!run.schedules.empty())
    out << "smc: " << run.schedules.front().size() << " tempering steps in the first run, mean acceptance "
        << cell("%.3f", run.mean_acceptance) << "\n";
  return out.str();
}

std::string route_report_json(const RouteRun& run, const core::Config& config, const Eigen::MatrixXd& targets) {
  ordered_json j;
  j["provenance"] = ordered_json::parse(core::provenance_json(config));
  j["route"] = std::string(core::posterior_route_name(run.route));
  j["width"] = run.width;
  j["replicates"] = run.kernels.replicates();
  j["error_degrees_of_freedom"] = run.kernels.degrees_of_freedom();
  j["log_evidence"] = number_or_null(run.log_evidence);
  j["log_evidence_error"] = number_or_null(run.log_evidence_error);
  j["nngp_log_evidence"] = number_or_null(run.nngp_log_evidence);
  j["importance"] = {{"networks", run.networks},
                     {"effective_sample_size", number_or_null(run.effective_sample_size)},
                     {"pareto_k", number_or_null(run.pareto_k)},
                     {"warning", run.warning}};
  ordered_json schedules = ordered_json::array();
  for (const auto& s : run.schedules) schedules.push_back(schedule_json(s));
  j["smc"] = {{"mean_acceptance", number_or_null(run.mean_acceptance)}, {"schedules", schedules}};
  ordered_json layers = ordered_json::array();
  for (Eigen::Index l = 2; l <= run.kernels.posterior_mean.top_layer(); ++l) layers.push_back(layer_json(run, l, targets));
  j["layers"] = layers;
  j["seconds"] = run.seconds;
  return j.dump(2) + "\n";
}

std::filesystem::path write_route_report(const RouteRun& run, const core::Config& config,
                                         const Eigen::MatrixXd& targets, const std::filesystem::path& directory) {
  core::write_file_atomic(directory / "route.json", route_report_json(run, config, targets));
  return directory / "route.json";
}

}  // namespace kernelmc::validation
