#pragma once
// A container of one value per layer, indexed by layer number as THEORY.md writes it:
// layer(l) for l = first_layer()..last_layer(), the first layer number fixed at construction
// (1 for kernels C^(1..L+1), 2 for maps and tilts that start at the first hidden layer).
#include <Eigen/Core>
#include <cassert>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace kernelmc::core {

template <class T>
class LayerStack {
 public:
  LayerStack() = default;
  // Layers first..last (empty when last < first), each a copy of `value`.
  LayerStack(Eigen::Index first, Eigen::Index last, const T& value = T())
      : first_(first), values_(static_cast<std::size_t>(last >= first ? last - first + 1 : 0), value) {}
  // Layers first..first + values.size() − 1, values[i] being layer first + i.
  LayerStack(Eigen::Index first, std::vector<T> values) : first_(first), values_(std::move(values)) {}

  Eigen::Index first_layer() const { return first_; }
  Eigen::Index last_layer() const { return first_ + size() - 1; }
  Eigen::Index size() const { return static_cast<Eigen::Index>(values_.size()); }
  bool empty() const { return values_.empty(); }
  bool contains(Eigen::Index l) const { return l >= first_ && l <= last_layer(); }

  T& layer(Eigen::Index l) {
    assert(contains(l));
    return values_[static_cast<std::size_t>(l - first_)];
  }
  const T& layer(Eigen::Index l) const {
    assert(contains(l));
    return values_[static_cast<std::size_t>(l - first_)];
  }
  // layer(l), with a DataError naming `what` and l when l is out of range.
  const T& at(Eigen::Index l, const std::string& what) const {
    if (!contains(l))
      throw DataError(what + ": layer " + std::to_string(l) + " is outside " + std::to_string(first_) + ".." +
                      std::to_string(last_layer()));
    return layer(l);
  }

  // Iteration in layer order.
  auto begin() { return values_.begin(); }
  auto end() { return values_.end(); }
  auto begin() const { return values_.begin(); }
  auto end() const { return values_.end(); }

 private:
  Eigen::Index first_ = 1;
  std::vector<T> values_;
};

}  // namespace kernelmc::core
