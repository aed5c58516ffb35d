#include "validation/route_cross_check.hpp"

#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/json_io.hpp"
#include "core/kernel_stack.hpp"
#include "validation/detail/report_json.hpp"
#include "validation/posterior_route.hpp"
#include "validation/posterior_run.hpp"
#include "validation/route_report.hpp"

namespace kernelmc::validation {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The check route's E_post[C^(l)] and its SE per layer (index l − 2), and its target adaptation.
struct CheckWidth {
  std::vector<Eigen::MatrixXd> mean, se;
  std::vector<double> target, target_se;
};

CheckWidth run_check_width(const core::Config& config, core::CrossCheckRoute route, const core::Dataset& data,
                           Eigen::Index width, Observer& observer) {
  CheckWidth out;
  if (route == core::CrossCheckRoute::chains) {
    core::Config c = config;
    c.model.widths = {width};
    c.posterior.route = core::PosteriorRoute::chains;
    const PosteriorRunResult run = run_posterior(c, data, observer);
    for (const sampling::LayerSummary& l : run.kernels.layers) {
      out.mean.push_back(l.mean);
      out.se.push_back(l.mcse);
      out.target.push_back(kNaN);
      out.target_se.push_back(kNaN);
    }
    return out;
  }
  const core::PosteriorRoute r =
      route == core::CrossCheckRoute::importance ? core::PosteriorRoute::importance : core::PosteriorRoute::smc;
  const RouteRun run = run_posterior_route(config, r, data, width, observer);
  for (Eigen::Index l = 2; l <= run.kernels.posterior_mean.top_layer(); ++l) {
    out.mean.push_back(run.kernels.posterior_mean.layer(l));
    out.se.push_back(run.kernels.posterior_error(l));
    const auto [along, along_se] = target_adaptation(run, l, data.targets);
    out.target.push_back(along);
    out.target_se.push_back(along_se);
  }
  return out;
}

}  // namespace

CrossCheck run_cross_check(const ValidationResult& study, const core::Dataset& data, Observer& observer) {
  const core::Config& config = study.config;
  CrossCheck out;
  out.route = std::string(core::cross_check_route_name(config.posterior.cross_check));
  const Eigen::Index K = core::triangle_size(data.size());
  const Eigen::Index layers = study.widths.empty() ? 0 : static_cast<Eigen::Index>(study.widths.front().layers.size());
  const double alpha = config.validation.false_alarm_rate / static_cast<double>(K * std::max<Eigen::Index>(layers, 1));
  out.bonferroni_z = boost::math::quantile(boost::math::complement(boost::math::normal(), alpha / 2.0));
  for (const WidthValidation& w : study.widths) {
    const CheckWidth check = run_check_width(config, config.posterior.cross_check, data, w.width, observer);
    for (std::size_t li = 0; li < w.layers.size(); ++li) {
      const LayerValidation& l = w.layers[li];
      CrossCheckRow row;
      row.width = w.width;
      row.layer = l.layer;
      const Eigen::ArrayXXd z = (l.posterior_mean - check.mean[li]).array() /
                                (l.posterior_mean_se.array().square() + check.se[li].array().square()).sqrt();
      row.max_abs_z = z.abs().maxCoeff();
      row.target_check = check.target[li];
      row.target_check_se = check.target_se[li];
      row.target_z = (l.target_adaptation - row.target_check) / std::hypot(l.target_adaptation_se, row.target_check_se);
      out.consistent = out.consistent && row.max_abs_z <= out.bonferroni_z &&
                       (std::isnan(row.target_z) || std::abs(row.target_z) <= out.bonferroni_z);
      out.rows.push_back(row);
    }
  }
  return out;
}

std::string format_cross_check(const ValidationResult& study, const CrossCheck& check) {
  using detail::printf_number;
  std::ostringstream out;
  out << "\ncross-check: " << check.route << " beside the study's route (Bonferroni |z| threshold "
      << printf_number("%.2f", check.bonferroni_z) << ")\n    N layer  max|z| E_post   N*yT.dC.y study      "
      << check.route << "             z\n";
  std::size_t i = 0;
  for (const WidthValidation& w : study.widths) {
    for (const LayerValidation& l : w.layers) {
      const CrossCheckRow& r = check.rows[i++];
      out << printf_number("%5.0f", static_cast<double>(r.width)) << printf_number("%6.0f", static_cast<double>(r.layer))
          << "  " << printf_number("%-14.2f", r.max_abs_z) << printf_number("%+.4f", l.target_adaptation) << " +- "
          << printf_number("%.4f", l.target_adaptation_se) << "   ";
      if (std::isnan(r.target_z)) {
        out << "n/a\n";
      } else {
        out << printf_number("%+.4f", r.target_check) << " +- " << printf_number("%.4f", r.target_check_se) << "   "
            << printf_number("%+.2f", r.target_z) << "\n";
      }
    }
  }
  out << (check.consistent ? "the two routes agree within their combined errors\n"
                           : "the two routes DISAGREE beyond their combined errors\n");
  return out.str();
}

std::string cross_check_json(const CrossCheck& check) {
  using detail::number_or_null;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const CrossCheckRow& r : check.rows) {
    rows.push_back({{"width", r.width},
                    {"layer", r.layer},
                    {"max_abs_z_posterior_mean", number_or_null(r.max_abs_z)},
                    {"target_adaptation_check", number_or_null(r.target_check)},
                    {"target_adaptation_check_se", number_or_null(r.target_check_se)},
                    {"target_adaptation_z", number_or_null(r.target_z)}});
  }
  const nlohmann::ordered_json out = {{"route", check.route},
                                      {"bonferroni_z", number_or_null(check.bonferroni_z)},
                                      {"consistent", check.consistent},
                                      {"rows", std::move(rows)}};
  return out.dump(2) + "\n";
}

std::filesystem::path write_cross_check(const CrossCheck& check, const std::filesystem::path& directory) {
  core::write_file_atomic(directory / "cross_check.json", cross_check_json(check));
  return directory / "cross_check.json";
}

}  // namespace kernelmc::validation
