#pragma once
// Windowed estimation of the diagonal metric during warmup (Stan's windowed_adaptation
// and var_adaptation). The schedule and the estimator are kept apart:
//  - AdaptationWindows: a fast initial buffer (step size only), then slow windows of
//    doubling length whose draws estimate the variances, then a fast terminal buffer.
//    With 1000 warmup transitions and Stan's buffers 75 / 50 / 25, the windows end
//    after transitions 100, 150, 250, 450 and 950.
//  - MetricAdaptation: Welford variances of the positions in the current window,
//    shrunk toward 1e-3 at each window's end: (n/(n+5))·var + 1e-3·(5/(n+5)).
#include <Eigen/Core>

#include "core/checkpoint_io.hpp"

#include "sampling/accumulators.hpp"

namespace kernelmc::sampling {

class AdaptationWindows {
 public:
  // No adaptation windows at all.
  AdaptationWindows() = default;
  // Stan's set_window_params: fewer than 20 warmup transitions give no windows; if the
  // buffers and the first window do not fit, they become 15 % / 75 % / 10 % of warmup.
  AdaptationWindows(Eigen::Index n_warmup, Eigen::Index init_buffer, Eigen::Index term_buffer,
                    Eigen::Index base_window);

  // Whether the current transition's draw belongs to an estimation window.
  bool in_window() const;
  // Whether the current transition closes a window.
  bool window_ends() const;
  // Moves to the next transition (and, after a window's end, sizes the next window).
  void advance();

  Eigen::Index init_buffer() const { return init_buffer_; }
  Eigen::Index term_buffer() const { return term_buffer_; }
  Eigen::Index base_window() const { return base_window_; }

  // The schedule and the position in it, and those read back (a chain's checkpoint).
  void save_state(core::BinaryWriter& out) const;
  void restore_state(core::BinaryReader& in);

 private:
  Eigen::Index n_warmup_ = 0;
  Eigen::Index init_buffer_ = 0;
  Eigen::Index term_buffer_ = 0;
  Eigen::Index base_window_ = 0;
  Eigen::Index counter_ = 0;      // index of the current warmup transition
  Eigen::Index window_size_ = 0;  // length of the current window
  Eigen::Index next_window_ = 0;  // index of the transition that closes it
};

// Stan's regularisation of a window's variance estimate from n draws:
// (n/(n+5))·var + 1e-3·(5/(n+5)).
Eigen::VectorXd shrink_variance(const Eigen::Ref<const Eigen::VectorXd>& variance, Eigen::Index n);

class MetricAdaptation {
 public:
  MetricAdaptation() = default;
  MetricAdaptation(Eigen::Index dimension, const AdaptationWindows& windows);

  // Stan's learn_variance, called once per warmup transition with its position: adds q
  // inside a window; at a window's end writes the shrunk variances into inverse_mass,
  // restarts the estimator and returns true. Throws NumericalError if the estimate is
  // not finite.
  bool learn_variance(Eigen::VectorXd& inverse_mass, const Eigen::Ref<const Eigen::VectorXd>& q);

  // The windows and the current window's estimator, and those read back into a
  // MetricAdaptation of any dimension (a chain's checkpoint; DataError if they do not fit).
  void save_state(core::BinaryWriter& out) const;
  void restore_state(core::BinaryReader& in);

 private:
  AdaptationWindows windows_;
  MeanCovarianceAccumulator estimator_;
};

}  // namespace kernelmc::sampling
