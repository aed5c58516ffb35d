#include "validation/route_cross_check.hpp"

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <sstream>
#include <tuple>
#include <utility>

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
  Eigen::Index dof = 0;  // of the SEs: batch means of the chains, or replicates − 1
};

CheckWidth run_check_width(const core::Config& config, core::CrossCheckRoute route, const core::Dataset& data,
                           Eigen::Index width, Observer& observer) {
  CheckWidth out;
  if (route == core::CrossCheckRoute::chains) {
    core::Config c = config;
    c.model.widths = {width};
    c.posterior.route = core::PosteriorRoute::chains;
    const PosteriorRunResult run = run_posterior(c, data, observer);
    out.dof = run.kernels.batch_degrees_of_freedom;
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
  out.dof = run.kernels.degrees_of_freedom();
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

// The two-sided Student-t quantile at level `alpha` for the Welch–Satterthwaite degrees of
// freedom of a difference of two means with SEs a, b on dof_a, dof_b degrees of freedom
// (the normal quantile where a dof is unknown, ≤ 0).
double welch_t_threshold(double a, Eigen::Index dof_a, double b, Eigen::Index dof_b, double alpha) {
  const boost::math::normal normal;
  if (dof_a <= 0 || dof_b <= 0) return boost::math::quantile(boost::math::complement(normal, alpha / 2.0));
  const double va = a * a, vb = b * b;
  const double dof = (va + vb) * (va + vb) /
                     (va * va / static_cast<double>(dof_a) + vb * vb / static_cast<double>(dof_b));
  if (!(dof > 0.0) || !std::isfinite(dof)) return boost::math::quantile(boost::math::complement(normal, alpha / 2.0));
  return boost::math::quantile(boost::math::complement(boost::math::students_t(dof), alpha / 2.0));
}

namespace {

// |z|/threshold of every entry (the threshold from the entry's own Welch dof), its largest
// value, and the |z| where it is reached.
std::pair<double, double> worst_entry(const LayerValidation& l, const Eigen::MatrixXd& mean, const Eigen::MatrixXd& se,
                                      Eigen::Index dof, double alpha) {
  double worst_ratio = 0.0, worst_z = 0.0;
  for (Eigen::Index j = 0; j < mean.cols(); ++j) {
    for (Eigen::Index i = 0; i <= j; ++i) {
      const double a = l.posterior_mean_se(i, j), b = se(i, j);
      const double z = std::abs(l.posterior_mean(i, j) - mean(i, j)) / std::hypot(a, b);
      const double ratio = z / welch_t_threshold(a, l.posterior_dof, b, dof, alpha);
      if (ratio > worst_ratio) std::tie(worst_ratio, worst_z) = std::pair{ratio, z};
    }
  }
  return {worst_ratio, worst_z};
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
      const auto [ratio, z] = worst_entry(l, check.mean[li], check.se[li], check.dof, alpha);
      row.max_abs_z = z;
      row.max_threshold_ratio = ratio;
      row.target_check = check.target[li];
      row.target_check_se = check.target_se[li];
      row.target_z = (l.target_adaptation - row.target_check) / std::hypot(l.target_adaptation_se, row.target_check_se);
      const double target_threshold =
          welch_t_threshold(l.target_adaptation_se, l.posterior_dof, row.target_check_se, check.dof, alpha);
      out.consistent = out.consistent && ratio <= 1.0 &&
                       (std::isnan(row.target_z) || std::abs(row.target_z) <= target_threshold);
      out.rows.push_back(row);
    }
  }
  return out;
}

std::string format_cross_check(const ValidationResult& study, const CrossCheck& check) {
  using detail::printf_number;
  std::ostringstream out;
  out << "\ncross-check: " << check.route << " beside the study's route (Bonferroni level; each entry's threshold "
      << "is the Student t quantile for its Welch dof, " << printf_number("%.2f", check.bonferroni_z)
      << " for infinite dof; ratio = |z|/threshold)\n    N layer  max ratio (|z|)   N*yT.dC.y study      "
      << check.route << "             z\n";
  std::size_t i = 0;
  for (const WidthValidation& w : study.widths) {
    for (const LayerValidation& l : w.layers) {
      const CrossCheckRow& r = check.rows[i++];
      out << printf_number("%5.0f", static_cast<double>(r.width)) << printf_number("%6.0f", static_cast<double>(r.layer))
          << "  " << printf_number("%-5.2f", r.max_threshold_ratio) << " (" << printf_number("%5.2f", r.max_abs_z)
          << ")     " << printf_number("%+.4f", l.target_adaptation) << " +- "
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
                    {"max_threshold_ratio_posterior_mean", number_or_null(r.max_threshold_ratio)},
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
