#pragma once
// The raw-parameter network of THEORY.md §1.2 over all P training inputs at once:
//
//   h^(1)   = X W_0ᵀ √(g_1/d) + 𝟏 b_1ᵀ σ_b,
//   h^(l+1) = φ(h^(l)) W_lᵀ √(g_{l+1}/N_l) + 𝟏 b_{l+1}ᵀ σ_b   (l = 1..L−1),
//   F       = φ(h^(L)) w √(g_{L+1}/N_L) + 𝟏 b_outᵀ σ_b          (P×D),
//
// with θ laid out as in sampling/parameter_layout.hpp. Activations are P×N matrices
// (rows are inputs, columns neurons) and every step is a matrix-matrix product
// (sampling/detail/gemm.hpp), one per fixed block of rows or neurons at large shapes
// (sampling/detail/blocks.hpp), which the chain's threads share.
// The forward pass keeps h^(l) and Φ_l = φ(h^(l)) in preallocated buffers; the backward
// (reverse-mode) passes reuse them, so a gradient evaluation allocates nothing of ours.
// One Network belongs to one chain (it is its workspace); copy it for another chain.
#include <Eigen/Core>
#include <vector>

#include "core/kernel_stack.hpp"
#include "core/model_spec.hpp"
#include "sampling/parameter_layout.hpp"

namespace kernelmc::sampling {

class Network {
 public:
  // `spec` is validated (core::validate); `inputs` is X, P×d with d = spec.input_dim
  // (DataError naming both otherwise).
  Network(const core::ModelSpec& spec, const Eigen::Ref<const Eigen::MatrixXd>& inputs);

  const core::ModelSpec& spec() const { return spec_; }

  // Threads of the forward and reverse passes (default 1). Their work is split into the
  // fixed blocks of sampling/detail/blocks.hpp, so results do not depend on it.
  void set_threads(int threads) { threads_ = threads < 1 ? 1 : threads; }
  int threads() const { return threads_; }
  const ParameterLayout& layout() const { return layout_; }
  Eigen::Index points() const { return inputs_.rows(); }  // P

  // Hidden layers only: h^(1..L) and Φ_1..Φ_L from θ_h. Reads the first
  // layout().hidden_size() entries of `theta`, which may be θ_h or the full θ.
  void forward_hidden(const Eigen::Ref<const Eigen::VectorXd>& theta);
  // The whole network from the full θ (size layout().size()): hidden layers and F.
  void forward(const Eigen::Ref<const Eigen::VectorXd>& theta);

  // Results of the last forward call. Layer numbers as in THEORY.md, l = 1..L.
  const Eigen::MatrixXd& preactivation(Eigen::Index l) const { return h_[index(l)]; }  // h^(l)
  const Eigen::MatrixXd& activation(Eigen::Index l) const { return phi_[index(l)]; }   // Φ_l = φ(h^(l))
  const Eigen::MatrixXd& features() const { return phi_.back(); }                      // Φ := Φ_L
  const Eigen::MatrixXd& output() const { return output_; }                            // F, P×D (forward only)

  // Reverse mode for a scalar loss of F: given ∂loss/∂F (P×D), writes ∂loss/∂θ into
  // `gradient` (size layout().size(); overwritten, not accumulated). `theta` must be
  // the vector of the last forward() call.
  void backward_from_output(const Eigen::Ref<const Eigen::VectorXd>& theta,
                            const Eigen::Ref<const Eigen::MatrixXd>& output_gradient,
                            Eigen::Ref<Eigen::VectorXd> gradient);
  // Reverse mode for a scalar loss of Φ_L (the collapsed form, §1.5): given ∂loss/∂Φ_L
  // (P×N_L), writes ∂loss/∂θ_h into `hidden_gradient` (size layout().hidden_size()).
  // `theta` (θ_h or θ) must be the vector of the last forward_hidden()/forward() call.
  void backward_from_features(const Eigen::Ref<const Eigen::VectorXd>& theta,
                              const Eigen::Ref<const Eigen::MatrixXd>& feature_gradient,
                              Eigen::Ref<Eigen::VectorXd> hidden_gradient);

  // THEORY.md §1.3: C^(1) = (g_1/d) X Xᵀ + σ_b² 𝟏𝟏ᵀ (fixed by the data) and
  // C^(l+1) = σ_b² 𝟏𝟏ᵀ + (g_{l+1}/N_l) Φ_l Φ_lᵀ, l = 1..L, from the last forward call.
  const Eigen::MatrixXd& input_kernel() const { return input_kernel_; }
  // C^(l+1) of the last forward call, written (full symmetric) into `kernel` (P×P).
  void kernel_above(Eigen::Index l, Eigen::Ref<Eigen::MatrixXd> kernel) const;
  // All kernels C^(1..L+1) of θ (runs forward_hidden; reads θ_h as forward_hidden does).
  void empirical_kernels(const Eigen::Ref<const Eigen::VectorXd>& theta, core::KernelStack& kernels);
  core::KernelStack empirical_kernels(const Eigen::Ref<const Eigen::VectorXd>& theta);

 private:
  static std::size_t index(Eigen::Index l) { return static_cast<std::size_t>(l - 1); }
  // Starting from ∂loss/∂Φ_L in delta_[L − 1], backpropagates through the hidden
  // layers and writes the θ_h block of `gradient`.
  void backpropagate_hidden(const Eigen::Ref<const Eigen::VectorXd>& theta,
                            Eigen::Ref<Eigen::VectorXd> gradient);

  core::ModelSpec spec_;
  ParameterLayout layout_;
  Eigen::MatrixXd inputs_;               // X, P×d
  Eigen::MatrixXd input_kernel_;         // C^(1)
  std::vector<double> scales_;           // [l − 1] = √(g_l/N_{l−1}), l = 1..L+1
  double bias_scale_ = 0.0;              // σ_b
  int threads_ = 1;                      // of the row and neuron blocks
  std::vector<Eigen::MatrixXd> h_;       // [l − 1] = h^(l), P×N_l
  std::vector<Eigen::MatrixXd> phi_;     // [l − 1] = Φ_l, P×N_l
  std::vector<Eigen::MatrixXd> delta_;   // [l − 1] = ∂loss/∂h^(l) (∂loss/∂Φ_l on the way), P×N_l
  Eigen::MatrixXd output_;               // F, P×D
};

}  // namespace kernelmc::sampling
