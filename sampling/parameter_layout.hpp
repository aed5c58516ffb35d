#pragma once
// The flat raw-parameter vector θ of THEORY.md §1.2 (all entries i.i.d. N(0, 1) under
// the prior). Blocks, in this order, each matrix stored column-major:
//
//   W_0 (N_1×d), [b_1 (N_1)], W_1 (N_2×N_1), [b_2 (N_2)], …, W_{L−1} (N_L×N_{L−1}), [b_L (N_L)],
//   w (N_L×D), [b_out (D)]
//
// Hidden weights W_{l−1} feed layer l and are stored out×in, as in h = φ(h')·Wᵀ; the
// readout w is stored in×out (N_L×D), as in f = Φ·w, so column k is the readout of
// output k. Biases (in brackets) are present only when σ_b² > 0: with σ_b² = 0 they
// would not enter the network and would only add free N(0, 1) coordinates to sample.
//
// The hidden parameters θ_h (the coordinates of the collapsed posterior, §1.5) are the
// prefix θ.head(hidden_size()); the readout block (w, b_out) is θ.tail(readout_size()).
#include <Eigen/Core>
#include <vector>

#include "core/model_spec.hpp"

namespace kernelmc::sampling {

class ParameterLayout {
 public:
  ParameterLayout() = default;
  explicit ParameterLayout(const core::ModelSpec& spec);

  Eigen::Index depth() const { return depth_; }             // L
  bool has_biases() const { return has_biases_; }           // σ_b² > 0
  Eigen::Index size() const { return size_; }               // dim θ
  Eigen::Index hidden_size() const { return hidden_size_; } // dim θ_h
  Eigen::Index readout_size() const { return size_ - hidden_size_; }

  // Hidden layer l = 1..L: the weights W_{l−1} (rows N_l, columns N_{l−1}) that feed it,
  // and its bias b_l (N_l entries; only when has_biases()).
  Eigen::Index weight_offset(Eigen::Index l) const { return weight_offsets_[index(l)]; }
  Eigen::Index weight_rows(Eigen::Index l) const { return widths_[index(l) + 1]; }
  Eigen::Index weight_cols(Eigen::Index l) const { return widths_[index(l)]; }
  Eigen::Index bias_offset(Eigen::Index l) const { return bias_offsets_[index(l)]; }

  // Readout w (N_L×D) and output bias b_out (D entries; only when has_biases()).
  Eigen::Index readout_offset() const { return hidden_size_; }
  Eigen::Index readout_rows() const { return widths_.back(); }  // N_L
  Eigen::Index outputs() const { return outputs_; }             // D
  Eigen::Index output_bias_offset() const { return hidden_size_ + widths_.back() * outputs_; }

  bool operator==(const ParameterLayout&) const = default;

 private:
  static std::size_t index(Eigen::Index l) { return static_cast<std::size_t>(l - 1); }

  Eigen::Index depth_ = 0;
  bool has_biases_ = false;
  Eigen::Index outputs_ = 0;
  std::vector<Eigen::Index> widths_;          // N_0 = d, N_1, …, N_L
  std::vector<Eigen::Index> weight_offsets_;  // [l − 1]: offset of W_{l−1}
  std::vector<Eigen::Index> bias_offsets_;    // [l − 1]: offset of b_l (−1 without biases)
  Eigen::Index hidden_size_ = 0;
  Eigen::Index size_ = 0;
};

}  // namespace kernelmc::sampling
