#pragma once
// Built-in data sets (THEORY.md §8).
#include <Eigen/Core>
#include <cstdint>

#include "core/dataset.hpp"
#include "core/rng.hpp"
#include "core/settings/data.hpp"

namespace kernelmc::core {

// Point α sits at centre α mod 4 of (1, 1), (1, −1), (−1, 1), (−1, −1) (padded with
// zeros to ℝ^d, d ≥ 2) plus N(0, noise²) per coordinate; its target is the XOR label
// c₁c₂ of its centre, so P = 4 with noise 0 gives Config B's first two columns and y.
Dataset xor_dataset(Eigen::Index points, Eigen::Index input_dim, double noise, Engine& engine);

// THEORY.md §8 Config A: P = 3, d = 3, ‖x‖² = 3. Config A defines no targets; the
// prior study does not need them, and we attach y = (1, −1, 1) for posterior runs.
Dataset config_a_dataset();

// THEORY.md §8 Config B: XOR with constant third input, y = (1, −1, −1, 1).
Dataset config_b_dataset();

// Inputs i.i.d. N(0, 1) in d dimensions; targets from a random one-hidden-layer
// teacher f(x) = φ(x W₀ᵀ/√d) w/√N_t (standard parameterisation, g = 1) plus N(0, noise²).
// Draw order (result files depend on it): X, W₀ (N_t×d), w, the label noise.
Dataset teacher_dataset(Eigen::Index points, Eigen::Index input_dim, Eigen::Index teacher_width,
                        Activation activation, double noise, Engine& engine);

// The data set `settings` describes; generators draw from
// make_stream(seed, StreamPurpose::dataset, 0, 0), fashion_mnist from its own
// data.subset_seed (core/image_task.hpp). Validates the result.
Dataset make_dataset(const DataSettings& settings, std::uint64_t seed);

}  // namespace kernelmc::core
