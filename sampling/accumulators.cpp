#include "sampling/accumulators.hpp"

#include <cassert>
#include <limits>

#include "core/error.hpp"

namespace kernelmc::sampling {

MeanCovarianceAccumulator::MeanCovarianceAccumulator(Eigen::Index dim, bool track_covariance)
    : track_covariance_(track_covariance),
      mean_(Eigen::VectorXd::Zero(dim)),
      sum_squares_(Eigen::VectorXd::Zero(dim)),
      comoment_(track_covariance ? Eigen::MatrixXd::Zero(dim, dim) : Eigen::MatrixXd()) {}

void MeanCovarianceAccumulator::add(const Eigen::Ref<const Eigen::VectorXd>& x) {
  assert(x.size() == mean_.size());
  // Welford: δ = x − mean_old; mean += δ/n; M2 += δ (x − mean_new)ᵀ.
  ++count_;
  const Eigen::VectorXd delta = x - mean_;
  mean_ += delta / static_cast<double>(count_);
  const Eigen::VectorXd delta_new = x - mean_;
  sum_squares_.array() += delta.array() * delta_new.array();
  if (track_covariance_) comoment_.noalias() += delta * delta_new.transpose();
}

void MeanCovarianceAccumulator::add_batch(const Eigen::Ref<const Eigen::MatrixXd>& columns) {
  assert(columns.rows() == mean_.size());
  const Eigen::Index n = columns.cols();
  if (n == 0) return;
  MeanCovarianceAccumulator batch;
  batch.track_covariance_ = track_covariance_;
  batch.count_ = n;
  batch.mean_ = columns.rowwise().mean();
  const Eigen::MatrixXd centred = columns.colwise() - batch.mean_;
  batch.sum_squares_ = centred.rowwise().squaredNorm();
  if (track_covariance_) {
    batch.comoment_ = Eigen::MatrixXd::Zero(mean_.size(), mean_.size());
    batch.comoment_.selfadjointView<Eigen::Lower>().rankUpdate(centred);
    batch.comoment_.triangularView<Eigen::StrictlyUpper>() = batch.comoment_.transpose();
  }
  merge(batch);
}

void MeanCovarianceAccumulator::merge(const MeanCovarianceAccumulator& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  assert(other.mean_.size() == mean_.size());
  // Chan, Golub & LeVeque: M2 = M2_a + M2_b + δδᵀ n_a n_b / n.
  const double na = static_cast<double>(count_);
  const double nb = static_cast<double>(other.count_);
  const double n = na + nb;
  const Eigen::VectorXd delta = other.mean_ - mean_;
  mean_ += delta * (nb / n);
  sum_squares_ += other.sum_squares_ + delta.cwiseAbs2() * (na * nb / n);
  if (track_covariance_) {
    assert(other.track_covariance_);
    comoment_ += other.comoment_;
    comoment_.noalias() += (na * nb / n) * delta * delta.transpose();
  }
  count_ += other.count_;
}

bool MeanCovarianceAccumulator::operator==(const MeanCovarianceAccumulator& other) const {
  // Eigen's == asserts equal sizes, so compare shapes first.
  auto same = [](const auto& x, const auto& y) {
    return x.rows() == y.rows() && x.cols() == y.cols() && (x.size() == 0 || x == y);
  };
  return count_ == other.count_ && track_covariance_ == other.track_covariance_ &&
         same(mean_, other.mean_) && same(sum_squares_, other.sum_squares_) &&
         same(comoment_, other.comoment_);
}

Eigen::VectorXd MeanCovarianceAccumulator::variance() const {
  if (count_ < 2) return Eigen::VectorXd::Constant(mean_.size(), std::numeric_limits<double>::quiet_NaN());
  return sum_squares_ / static_cast<double>(count_ - 1);
}

Eigen::MatrixXd MeanCovarianceAccumulator::covariance() const {
  assert(track_covariance_);
  if (count_ < 2)
    return Eigen::MatrixXd::Constant(mean_.size(), mean_.size(), std::numeric_limits<double>::quiet_NaN());
  return comoment_ / static_cast<double>(count_ - 1);
}

std::vector<Eigen::MatrixXd> MeanCovarianceAccumulator::state() const {
  Eigen::MatrixXd header(1, 2);
  header << static_cast<double>(count_), track_covariance_ ? 1.0 : 0.0;
  return {header, mean_, sum_squares_, comoment_};
}

void MeanCovarianceAccumulator::restore(const std::vector<Eigen::MatrixXd>& state) {
  const bool fits = state.size() == 4 && state[0].rows() == 1 && state[0].cols() == 2 &&
                    (state[0](0, 1) != 0.0) == track_covariance_ && state[1].rows() == mean_.size() &&
                    state[1].cols() == 1 && state[2].rows() == mean_.size() && state[2].cols() == 1 &&
                    state[3].rows() == comoment_.rows() && state[3].cols() == comoment_.cols();
  if (!fits) throw DataError("accumulator state: the arrays do not fit this accumulator");
  count_ = static_cast<Eigen::Index>(state[0](0, 0));
  mean_ = state[1];
  sum_squares_ = state[2];
  comoment_ = state[3];
}

}  // namespace kernelmc::sampling
