#include "theory/nngp.hpp"

#include <gtest/gtest.h>

#include "core/dataset.hpp"
#include "core/dataset_generators.hpp"
#include "core/rng.hpp"
#include "theory/gaussian_expectations.hpp"

namespace kernelmc::theory {
namespace {

using core::Activation;

TEST(Nngp, ConfigAKernelsMatchTheoryPrintedDigits) {
  // THEORY.md §8 V1 (Config A: erf, g = 2, σ_b = 0, L = 3). The closed forms are exact to
  // rounding, so the tolerance is half a unit in the last printed digit, 5e-6.
  const core::ModelSpec spec = core::uniform_model(3, 3, 16, Activation::erf, 2.0, 0.0, 1.0);
  const core::KernelStack C = nngp_kernels(spec, core::config_a_dataset().inputs, 1e-12);
  ASSERT_EQ(C.top_layer(), 4);
  const double half_unit = 5e-6;
  const Eigen::MatrixXd& C2 = C.layer(2);
  for (Eigen::Index a = 0; a < 3; ++a) EXPECT_NEAR(C2(a, a), 1.18067, half_unit);
  EXPECT_NEAR(C2(0, 1), 0.63745, half_unit);
  EXPECT_NEAR(C2(1, 2), 0.50181, half_unit);
  EXPECT_NEAR(C2(0, 2), 0.0, 1e-15);
  const Eigen::MatrixXd& C4 = C.layer(4);
  for (Eigen::Index a = 0; a < 3; ++a) EXPECT_NEAR(C4(a, a), 0.92597, half_unit);
  EXPECT_NEAR(C4(0, 1), 0.43095, half_unit);
  EXPECT_NEAR(C4(0, 2), 0.0, 1e-15);
  EXPECT_NEAR(C4(1, 2), 0.33330, half_unit);
  EXPECT_TRUE(C4.isApprox(C4.transpose(), 0.0));
}

TEST(Nngp, ConfigBKernelsMatchTheoryPrintedDigits) {
  // THEORY.md §8.1: C_GP^(2) diagonal 1.18067, off-diagonal ±0.34369; C_GP^(3) 0.99173,
  // ±0.26222, with the sign pattern of C^(1). Half a unit in the last digit, 5e-6.
  const core::ModelSpec spec = core::uniform_model(3, 2, 16, Activation::erf, 2.0, 0.0, 1.0);
  const core::Dataset data = core::config_b_dataset();
  const core::KernelStack C = nngp_kernels(spec, data.inputs, 1e-12);
  const Eigen::MatrixXd& C1 = C.layer(1);
  for (Eigen::Index a = 0; a < 4; ++a) {
    for (Eigen::Index b = 0; b < 4; ++b) {
      const double sign = a == b ? 1.0 : (C1(a, b) > 0 ? 1.0 : -1.0);
      EXPECT_NEAR(C.layer(2)(a, b), a == b ? 1.18067 : sign * 0.34369, 5e-6);
      EXPECT_NEAR(C.layer(3)(a, b), a == b ? 0.99173 : sign * 0.26222, 5e-6);
    }
  }
}

TEST(Nngp, LayerMapIsAffineStepAfterActivationStep) {
  Eigen::MatrixXd C(2, 2);
  C << 1.3, 0.4,
       0.4, 0.8;
  core::ModelSpec spec = core::uniform_model(2, 2, 8, Activation::erf, 1.7, 0.3, 1.0);
  spec.weight_variances = {1.0, 1.7, 2.4};
  // 𝒢_l(C) = σ_b² 𝟏𝟏ᵀ + g_l ⟨φφᵀ⟩_C with the layer's own g.
  const Eigen::MatrixXd expected = (2.4 * expected_phi_phi(Activation::erf, C, 1e-12)).array() + 0.3;
  EXPECT_TRUE(nngp_layer_map(spec, 3, C, 1e-12).isApprox(expected, 1e-15));
  EXPECT_TRUE(affine_step(activation_step(Activation::erf, C, 1e-12), 2.4, 0.3).isApprox(expected, 1e-15));
}

TEST(Nngp, DeepLinearKernelsAreProductOfGainsTimesInputKernel) {
  // Linear φ, σ_b = 0: C_GP^(l) = (∏_{k=2}^{l} g_k) C^(1) (THEORY.md §3.2), exactly.
  core::Engine engine = core::make_stream(1, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd X = core::standard_normal_matrix(engine, 5, 3);
  core::ModelSpec spec = core::uniform_model(3, 3, 8, Activation::linear, 1.0, 0.0, 1.0);
  spec.weight_variances = {1.5, 0.7, 2.0, 1.1};
  const core::KernelStack C = nngp_kernels(spec, X, 1e-12);
  const Eigen::MatrixXd K0 = core::input_kernel(X, 1.5, 0.0);
  EXPECT_TRUE(C.layer(1).isApprox(K0, 1e-15));
  EXPECT_TRUE(C.layer(4).isApprox(0.7 * 2.0 * 1.1 * K0, 1e-14));
}

TEST(Nngp, ReluWithBiasMatchesLengthMapOnTheDiagonal) {
  // ReLU diagonal: C^(l)_aa = σ_b² + g C^(l−1)_aa / 2, for any input.
  core::Engine engine = core::make_stream(2, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd X = core::standard_normal_matrix(engine, 4, 2);
  const core::ModelSpec spec = core::uniform_model(2, 3, 8, Activation::relu, 1.6, 0.2, 1.0);
  const core::KernelStack C = nngp_kernels(spec, X, 1e-12);
  for (Eigen::Index l = 2; l <= 4; ++l) {
    const Eigen::VectorXd expected = (0.2 + 0.8 * C.layer(l - 1).diagonal().array()).matrix();
    EXPECT_TRUE(C.layer(l).diagonal().isApprox(expected, 1e-14));
  }
}

}  // namespace
}  // namespace kernelmc::theory
