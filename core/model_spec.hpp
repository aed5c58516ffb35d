#pragma once
// The network architecture of THEORY.md §1.2: d inputs, L hidden layers of widths
// N_1..N_L, activation φ, weight-variance scales g_1..g_{L+1}, bias variance σ_b²,
// likelihood variance κ. Layers are numbered as in THEORY.md.
#include <Eigen/Core>
#include <vector>

#include "core/activation.hpp"

namespace kernelmc::core {

struct ModelSpec {
  Eigen::Index input_dim = 0;              // d = N_0
  std::vector<Eigen::Index> widths;        // N_1..N_L (hidden widths); widths.size() = L
  Activation activation = Activation::erf; // φ
  std::vector<double> weight_variances;    // g_1..g_{L+1}; size L+1
  double bias_variance = 0.0;              // σ_b²
  double kappa = 1.0;                      // κ, Gaussian likelihood variance
  Eigen::Index output_dim = 1;             // D, number of readout units

  bool operator==(const ModelSpec&) const = default;

  // L, the number of hidden layers.
  Eigen::Index depth() const { return static_cast<Eigen::Index>(widths.size()); }
  // g_l for l = 1..L+1 (THEORY.md numbering).
  double g(Eigen::Index l) const { return weight_variances[static_cast<std::size_t>(l - 1)]; }
  // N_l for l = 0..L, with N_0 = d.
  Eigen::Index width(Eigen::Index l) const {
    return l == 0 ? input_dim : widths[static_cast<std::size_t>(l - 1)];
  }
};

// A network with all hidden widths equal to N and one g for every layer.
ModelSpec uniform_model(Eigen::Index input_dim, Eigen::Index depth, Eigen::Index width,
                        Activation activation, double g, double bias_variance, double kappa);

// A copy of `spec` with every hidden width set to N (width-scaling studies).
ModelSpec with_uniform_width(ModelSpec spec, Eigen::Index width);

// Throws ConfigError naming the field ("model.width", "model.g[2]", "model.kappa", ...).
void validate(const ModelSpec& spec);

}  // namespace kernelmc::core
