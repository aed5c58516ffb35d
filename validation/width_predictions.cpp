#include "validation/width_predictions.hpp"

#include <chrono>
#include <optional>

#include "core/error.hpp"
#include "theory/deep_linear_posterior.hpp"
#include "theory/fb_solver.hpp"
#include "theory/one_loop.hpp"

namespace kernelmc::validation {

namespace {

// The value of `solve`, or nullopt with a failure of each of `theories` recorded when it
// throws NumericalError (a prediction that does not exist at this width, not a bug) or
// ConfigError (a theory setting that does not fit this width's P, e.g. an explicit
// theory.fb.method = quadrature in a proportional study: the other cells still compare).
template <class Solve>
auto attempt(Solve&& solve, const std::vector<const char*>& theories, std::vector<TheoryFailure>& failures)
    -> std::optional<decltype(solve())> {
  try {
    return solve();
  } catch (const NumericalError& error) {
    for (const char* theory : theories) failures.push_back({theory, error.what()});
  } catch (const ConfigError& error) {
    for (const char* theory : theories) failures.push_back({theory, error.what()});
  }
  return std::nullopt;
}

Eigen::MatrixXd root_sum_square(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return (a.cwiseAbs2() + b.cwiseAbs2()).cwiseSqrt();
}

struct Solutions {
  std::optional<theory::OneLoopPrediction> one_loop;
  std::optional<theory::FbSolution> fb;
  std::optional<theory::OneHiddenLayerPosterior> exact;
};

std::vector<Prediction> layer_predictions(const Solutions& s, Eigen::Index l, Eigen::Index P) {
  const theory::OneLoopPrediction& ol = *s.one_loop;
  const Eigen::MatrixXd zero = Eigen::MatrixXd::Zero(P, P);
  const double gp_norm = ol.nngp.layer(l).norm();
  const double dc_norm = ol.adaptation.layer(l).norm() > 0.0 ? ol.adaptation.layer(l).norm() : 1.0;
  const Eigen::MatrixXd& mu_se = ol.mean_shift_standard_error.layer(l);
  const bool exact = s.exact && l == 2;
  const Eigen::MatrixXd exact_err = exact ? Eigen::MatrixXd::Constant(P, P, s.exact->kernel_error) : zero;
  std::vector<Prediction> preds;
  preds.push_back({"nngp", "posterior_mean", ol.nngp.layer(l), zero, gp_norm});
  preds.push_back({"one_loop", "posterior_mean", ol.posterior_mean.layer(l),
                   root_sum_square(ol.adaptation_standard_error.layer(l), mu_se), gp_norm});
  if (s.fb)
    preds.push_back({"fb", "posterior_mean", s.fb->kernels.layer(l) + ol.mean_shift.layer(l),
                     root_sum_square(s.fb->kernel_errors.layer(l), mu_se), gp_norm});
  if (exact) preds.push_back({"exact_linear", "posterior_mean", s.exact->mean_kernel, exact_err, gp_norm});
  // The NNGP has no adaptation: its posterior kernels are the prior's (THEORY.md §2).
  preds.push_back({"nngp", "adaptation", zero, zero, dc_norm});
  preds.push_back({"one_loop", "adaptation", ol.adaptation.layer(l), ol.adaptation_standard_error.layer(l), dc_norm});
  if (s.fb)
    preds.push_back({"fb", "adaptation", s.fb->kernels.layer(l) - s.fb->nngp.layer(l), s.fb->kernel_errors.layer(l),
                     dc_norm});
  // Linear networks: E_prior[C^(2)] = C_GP^(2) exactly (μ = 0, THEORY.md §3.2).
  if (exact)
    preds.push_back({"exact_linear", "adaptation", s.exact->mean_kernel - ol.nngp.layer(2), exact_err, dc_norm});
  return preds;
}

// FB and the exact kernel on top of a one-loop solution, then every layer's predictions.
void predict_layers(WidthPredictions& out, Solutions& s, const core::ModelSpec& spec, const core::FbSettings& fb,
                    const core::Dataset& data, bool exact_linear) {
  // The automatic FB route (theory::choose_fb_route), as `kernelmc theory` takes it.
  const theory::FbSettings settings = theory::choose_fb_route(spec, data.size(), fb).settings;
  s.fb = attempt([&] { return theory::solve_fb(spec, data, settings); }, {"fb"}, out.failures);
  if (exact_linear)
    s.exact = attempt(
        [&] { return theory::one_hidden_layer_posterior(spec, s.one_loop->nngp.layer(1), data.targets.col(0)); },
        {"exact_linear"}, out.failures);
  if (s.fb) out.fb_method = std::string(core::tilt_method_name(s.fb->method));
  for (Eigen::Index l = 2; l <= spec.depth() + 1; ++l)
    out.layers[static_cast<std::size_t>(l - 2)] = layer_predictions(s, l, data.size());
}

}  // namespace

WidthPredictions width_predictions(const core::Config& config, const core::Dataset& data, Eigen::Index width,
                                   bool exact_linear) {
  const auto start = std::chrono::steady_clock::now();
  const core::ModelSpec spec = spec_at_width(config, data, width);
  WidthPredictions out;
  Solutions s;
  // C_GP and μ come with the one-loop solution; FB + μ and the exact kernel need them.
  std::vector<const char*> needs_one_loop = {"nngp", "one_loop", "fb"};
  if (exact_linear) needs_one_loop.push_back("exact_linear");
  s.one_loop = attempt([&] { return theory::one_loop_prediction(spec, data, config.theory, config.run.seed); },
                       needs_one_loop, out.failures);
  out.layers.resize(static_cast<std::size_t>(spec.depth()));
  if (s.one_loop) predict_layers(out, s, spec, config.fb, data, exact_linear);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace kernelmc::validation
