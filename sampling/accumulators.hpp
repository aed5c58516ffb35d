#pragma once
// Streaming, mergeable mean and covariance of vectors (Welford 1962; Chan, Golub &
// LeVeque 1979 for merging and for adding a whole batch at once). Used for the mean
// kernel and the covariance of the upper-triangle kernel entries of every layer.
#include <Eigen/Core>
#include <vector>

namespace kernelmc::sampling {

class MeanCovarianceAccumulator {
 public:
  MeanCovarianceAccumulator() = default;
  // dim: length of the vectors; track_covariance = false keeps only means and variances
  // (O(dim) memory instead of O(dim²), for large P).
  explicit MeanCovarianceAccumulator(Eigen::Index dim, bool track_covariance = true);

  // One observation.
  void add(const Eigen::Ref<const Eigen::VectorXd>& x);
  // Many observations, one per column, merged as one batch (two matrix products).
  void add_batch(const Eigen::Ref<const Eigen::MatrixXd>& columns);
  // Combine with another accumulator of the same dimension (Chan et al.). Merging in a
  // fixed order gives bit-identical results however the work was split over threads.
  void merge(const MeanCovarianceAccumulator& other);

  Eigen::Index count() const { return count_; }
  Eigen::Index dimension() const { return mean_.size(); }
  bool tracks_covariance() const { return track_covariance_; }
  const Eigen::VectorXd& mean() const { return mean_; }
  // Unbiased (divisor n − 1) variances; NaN when count < 2.
  Eigen::VectorXd variance() const;
  // Unbiased covariance matrix; requires tracks_covariance(); NaN when count < 2.
  Eigen::MatrixXd covariance() const;

  // Exact (==) equality of count, flags and moments (for determinism tests). Unlike a
  // defaulted ==, it is safe for accumulators of different dimensions.
  bool operator==(const MeanCovarianceAccumulator& other) const;

  // The complete state as arrays (count and flag, mean, Σ(x − mean)², the comoment), and that
  // state restored into an accumulator of the same dimension and flag: checkpoints of a
  // finished chain (validation/posterior_checkpoint.hpp). restore throws DataError if the
  // arrays do not fit.
  std::vector<Eigen::MatrixXd> state() const;
  void restore(const std::vector<Eigen::MatrixXd>& state);

 private:
  Eigen::Index count_ = 0;
  bool track_covariance_ = true;
  Eigen::VectorXd mean_;
  Eigen::VectorXd sum_squares_;  // Σ (x − mean)² per coordinate
  Eigen::MatrixXd comoment_;     // Σ (x − mean)(x − mean)ᵀ, when tracked
};

}  // namespace kernelmc::sampling
