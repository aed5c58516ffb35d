#include "sampling/metric_adaptation.hpp"

#include <sstream>

#include "core/error.hpp"

namespace kernelmc::sampling {

AdaptationWindows::AdaptationWindows(Eigen::Index n_warmup, Eigen::Index init_buffer,
                                     Eigen::Index term_buffer, Eigen::Index base_window) {
  // Stan's windowed_adaptation::set_window_params.
  if (n_warmup < 20) return;  // too short to estimate anything: no windows
  n_warmup_ = n_warmup;
  if (init_buffer + base_window + term_buffer > n_warmup) {
    init_buffer_ = static_cast<Eigen::Index>(0.15 * static_cast<double>(n_warmup));
    term_buffer_ = static_cast<Eigen::Index>(0.1 * static_cast<double>(n_warmup));
    base_window_ = n_warmup - (init_buffer_ + term_buffer_);
  } else {
    init_buffer_ = init_buffer;
    term_buffer_ = term_buffer;
    base_window_ = base_window;
  }
  // Stan's restart.
  window_size_ = base_window_;
  next_window_ = init_buffer_ + window_size_ - 1;
}

bool AdaptationWindows::in_window() const {
  return counter_ >= init_buffer_ && counter_ < n_warmup_ - term_buffer_ && counter_ != n_warmup_;
}

bool AdaptationWindows::window_ends() const {
  return n_warmup_ > 0 && counter_ == next_window_ && counter_ != n_warmup_;
}

void AdaptationWindows::advance() {
  // Stan's compute_next_window, run when a window closes: double the length, and if the
  // window after it would not fit before the terminal buffer, stretch this one to it.
  const Eigen::Index last = n_warmup_ - term_buffer_ - 1;
  if (window_ends() && next_window_ != last) {
    window_size_ *= 2;
    next_window_ = counter_ + window_size_;
    if (next_window_ != last && next_window_ + 2 * window_size_ >= n_warmup_ - term_buffer_)
      next_window_ = last;
  }
  ++counter_;
}

void AdaptationWindows::save_state(core::BinaryWriter& out) const {
  for (const Eigen::Index n : {n_warmup_, init_buffer_, term_buffer_, base_window_, counter_, window_size_, next_window_})
    out.integer(n);
}

void AdaptationWindows::restore_state(core::BinaryReader& in) {
  for (Eigen::Index* n : {&n_warmup_, &init_buffer_, &term_buffer_, &base_window_, &counter_, &window_size_,
                          &next_window_})
    *n = in.integer();
}

Eigen::VectorXd shrink_variance(const Eigen::Ref<const Eigen::VectorXd>& variance, Eigen::Index n) {
  const double dn = static_cast<double>(n);
  return (dn / (dn + 5.0)) * variance.array() + 1e-3 * (5.0 / (dn + 5.0));
}

MetricAdaptation::MetricAdaptation(Eigen::Index dimension, const AdaptationWindows& windows)
    : windows_(windows), estimator_(dimension, /*track_covariance=*/false) {}

bool MetricAdaptation::learn_variance(Eigen::VectorXd& inverse_mass,
                                      const Eigen::Ref<const Eigen::VectorXd>& q) {
  if (windows_.in_window()) estimator_.add(q);
  const bool update = windows_.window_ends();
  if (update) {
    inverse_mass = shrink_variance(estimator_.variance(), estimator_.count());
    if (!inverse_mass.allFinite()) {
      std::ostringstream msg;
      msg << "metric adaptation: variance estimate from " << estimator_.count()
          << " warmup draws is not finite (a position coordinate diverged)";
      throw NumericalError(msg.str());
    }
    estimator_ = MeanCovarianceAccumulator(q.size(), /*track_covariance=*/false);
  }
  windows_.advance();
  return update;
}

}  // namespace kernelmc::sampling

namespace kernelmc::sampling {

void MetricAdaptation::save_state(core::BinaryWriter& out) const {
  windows_.save_state(out);
  out.integer(estimator_.dimension());
  out.integer(estimator_.tracks_covariance() ? 1 : 0);
  out.matrices(estimator_.state());
}

void MetricAdaptation::restore_state(core::BinaryReader& in) {
  windows_.restore_state(in);
  const Eigen::Index dimension = in.integer();
  const bool track_covariance = in.integer() != 0;
  if (dimension < 0) throw DataError("metric adaptation state: negative dimension");
  estimator_ = MeanCovarianceAccumulator(dimension, track_covariance);
  estimator_.restore(in.matrices());
}

}  // namespace kernelmc::sampling
