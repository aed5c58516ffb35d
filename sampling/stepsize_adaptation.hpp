#pragma once
// Dual averaging of the log step size (Nesterov 2009; Hoffman & Gelman 2014, JMLR 15,
// §3.2, Algorithm 5; Stan's stepsize_adaptation.hpp). After transition t with
// acceptance statistic a_t:
//   s̄_t = (1 − η_t) s̄_{t−1} + η_t (δ − a_t),   η_t = 1 / (t + t0)
//   x_t = μ − s̄_t √t / γ,                        ε_t = exp(x_t)
//   x̄_t = (1 − t^{−κ}) x̄_{t−1} + t^{−κ} x_t
// and warmup ends with ε = exp(x̄). The schedule of restarts (after each metric
// update) belongs to the sampler (sampler.hpp), not to this estimator.
#include <Eigen/Core>

#include "core/checkpoint_io.hpp"

namespace kernelmc::sampling {

class StepSizeAdaptation {
 public:
  // δ, γ, κ, t0 as in SamplerSettings; validated there.
  StepSizeAdaptation(double target_accept, double gamma, double kappa, double t0);

  // μ, the value log ε is shrunk toward; Hoffman & Gelman use μ = log(10 ε₀).
  void set_mu(double mu) { mu_ = mu; }
  double mu() const { return mu_; }
  // Forgets the history: t = 0, s̄ = 0, x̄ = 0 (Stan's restart).
  void restart();

  // One update with the acceptance statistic of the last transition (values above 1
  // count as 1); returns the step size ε_t = exp(x_t) for the next transition.
  double learn(double accept_stat);
  // exp(x̄): the step size to keep once warmup ends.
  double adapted_step_size() const;
  // t, the number of updates since the last restart.
  Eigen::Index iterations() const { return counter_; }

  // μ, t, s̄ and x̄ (the settings δ, γ, κ, t0 come from the constructor), and those read
  // back: a chain's checkpoint inside warmup.
  void save_state(core::BinaryWriter& out) const;
  void restore_state(core::BinaryReader& in);

 private:
  double target_accept_;  // δ
  double gamma_;          // γ
  double kappa_;          // κ
  double t0_;             // t0
  double mu_ = 0.0;       // μ
  Eigen::Index counter_ = 0;
  double s_bar_ = 0.0;    // s̄, the averaged acceptance deficit δ − a
  double x_bar_ = 0.0;    // x̄, the averaged log step size
};

}  // namespace kernelmc::sampling
