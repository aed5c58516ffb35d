#include "sampling/parameter_layout.hpp"

namespace kernelmc::sampling {

ParameterLayout::ParameterLayout(const core::ModelSpec& spec)
    : depth_(spec.depth()), has_biases_(spec.bias_variance > 0.0), outputs_(spec.output_dim) {
  for (Eigen::Index l = 0; l <= depth_; ++l) widths_.push_back(spec.width(l));
  Eigen::Index offset = 0;
  for (Eigen::Index l = 1; l <= depth_; ++l) {
    weight_offsets_.push_back(offset);
    offset += spec.width(l) * spec.width(l - 1);
    bias_offsets_.push_back(has_biases_ ? offset : -1);
    if (has_biases_) offset += spec.width(l);
  }
  hidden_size_ = offset;
  size_ = hidden_size_ + (spec.width(depth_) + (has_biases_ ? 1 : 0)) * outputs_;
}

}  // namespace kernelmc::sampling
