// Tests of sampling/parameter_layout and sampling/network: the documented θ layout, the
// forward pass against a one-input-at-a-time reference, and the empirical kernels against
// (g/N)ΦΦᵀ + σ_b² recomputed entry by entry. The backward passes are checked against
// finite differences through the two potentials (full_posterior_test, collapsed_posterior_test).
#include "sampling/network.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "sampling/parameter_layout.hpp"

namespace kernelmc::sampling {
namespace {

using core::Activation;

// d = 3, widths 4, 3, 5 (unequal, so a swapped dimension cannot go unnoticed), distinct g.
core::ModelSpec test_model(Activation activation, Eigen::Index depth, Eigen::Index outputs,
                           double bias_variance) {
  core::ModelSpec spec;
  spec.input_dim = 3;
  spec.widths.assign({4, 3, 5});
  spec.widths.resize(static_cast<std::size_t>(depth));
  spec.activation = activation;
  spec.weight_variances.assign({1.3, 0.9, 1.7, 1.1});
  spec.weight_variances.resize(static_cast<std::size_t>(depth + 1));
  spec.bias_variance = bias_variance;
  spec.kappa = 0.5;
  spec.output_dim = outputs;
  return spec;
}

TEST(ParameterLayout, BlocksFollowDocumentedOrderWithBiases) {
  // d = 3, N = (4, 3), D = 2: W_0 12, b_1 4, W_1 12, b_2 3 | w 6, b_out 2.
  const ParameterLayout layout(test_model(Activation::erf, 2, 2, 0.5));
  EXPECT_TRUE(layout.has_biases());
  EXPECT_EQ(layout.weight_offset(1), 0);
  EXPECT_EQ(layout.weight_rows(1), 4);
  EXPECT_EQ(layout.weight_cols(1), 3);
  EXPECT_EQ(layout.bias_offset(1), 12);
  EXPECT_EQ(layout.weight_offset(2), 16);
  EXPECT_EQ(layout.weight_rows(2), 3);
  EXPECT_EQ(layout.weight_cols(2), 4);
  EXPECT_EQ(layout.bias_offset(2), 28);
  EXPECT_EQ(layout.hidden_size(), 31);
  EXPECT_EQ(layout.readout_offset(), 31);
  EXPECT_EQ(layout.readout_rows(), 3);
  EXPECT_EQ(layout.output_bias_offset(), 37);
  EXPECT_EQ(layout.readout_size(), 8);
  EXPECT_EQ(layout.size(), 39);
}

TEST(ParameterLayout, BiasesAreAbsentWithoutBiasVariance) {
  const ParameterLayout layout(test_model(Activation::erf, 2, 1, 0.0));
  EXPECT_FALSE(layout.has_biases());
  EXPECT_EQ(layout.weight_offset(2), 12);
  EXPECT_EQ(layout.hidden_size(), 24);
  EXPECT_EQ(layout.readout_size(), 3);
  EXPECT_EQ(layout.size(), 27);
}

// Independent route: one input at a time, scalar loops, walking θ in the order the
// layout documents (W column-major out×in, then b; readout w column-major N_L×D, b_out).
struct ReferenceForward {
  std::vector<Eigen::MatrixXd> phi;  // [l − 1] = Φ_l
  Eigen::MatrixXd output;            // F
};

ReferenceForward reference_forward(const core::ModelSpec& spec, const Eigen::MatrixXd& X,
                                   const Eigen::VectorXd& theta) {
  const Eigen::Index P = X.rows();
  const Eigen::Index L = spec.depth();
  const bool bias = spec.bias_variance > 0.0;
  const double sigma_b = std::sqrt(spec.bias_variance);
  ReferenceForward r;
  for (Eigen::Index l = 1; l <= L; ++l) r.phi.emplace_back(P, spec.width(l));
  r.output.resize(P, spec.output_dim);
  for (Eigen::Index a = 0; a < P; ++a) {
    Eigen::Index cursor = 0;
    std::vector<double> below;
    for (Eigen::Index j = 0; j < X.cols(); ++j) below.push_back(X(a, j));
    for (Eigen::Index l = 1; l <= L; ++l) {
      const Eigen::Index n_out = spec.width(l);
      const Eigen::Index n_in = spec.width(l - 1);
      const double scale = std::sqrt(spec.g(l) / static_cast<double>(n_in));
      std::vector<double> above(static_cast<std::size_t>(n_out));
      for (Eigen::Index i = 0; i < n_out; ++i) {
        double sum = 0.0;
        for (Eigen::Index j = 0; j < n_in; ++j)
          sum += theta(cursor + i + j * n_out) * below[static_cast<std::size_t>(j)];
        above[static_cast<std::size_t>(i)] = scale * sum;
      }
      cursor += n_out * n_in;
      if (bias) {
        for (Eigen::Index i = 0; i < n_out; ++i) above[static_cast<std::size_t>(i)] += sigma_b * theta(cursor + i);
        cursor += n_out;
      }
      for (Eigen::Index i = 0; i < n_out; ++i) {
        const double phi = core::activation_value(spec.activation, above[static_cast<std::size_t>(i)]);
        above[static_cast<std::size_t>(i)] = phi;
        r.phi[static_cast<std::size_t>(l - 1)](a, i) = phi;
      }
      below = above;
    }
    const Eigen::Index N = spec.width(L);
    const double scale = std::sqrt(spec.g(L + 1) / static_cast<double>(N));
    for (Eigen::Index k = 0; k < spec.output_dim; ++k) {
      double sum = 0.0;
      for (Eigen::Index i = 0; i < N; ++i) sum += theta(cursor + i + k * N) * below[static_cast<std::size_t>(i)];
      r.output(a, k) = scale * sum + (bias ? sigma_b * theta(cursor + N * spec.output_dim + k) : 0.0);
    }
  }
  return r;
}

struct NetworkCase {
  Activation activation;
  Eigen::Index depth;
  Eigen::Index outputs;
  double bias_variance;
};

std::string case_name(const NetworkCase& c) {
  return std::string(core::activation_name(c.activation)) + " L=" + std::to_string(c.depth) +
         " D=" + std::to_string(c.outputs) + " sigma_b^2=" + std::to_string(c.bias_variance);
}

std::vector<NetworkCase> all_cases() {
  std::vector<NetworkCase> cases;
  for (Activation a : {Activation::linear, Activation::relu, Activation::erf, Activation::tanh})
    for (Eigen::Index L : {1, 2, 3})
      for (Eigen::Index D : {1, 2})
        for (double sb2 : {0.0, 0.3}) cases.push_back({a, L, D, sb2});
  return cases;
}

TEST(Network, ForwardMatchesPerInputReference) {
  core::Engine engine = core::make_stream(11, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd X = core::standard_normal_matrix(engine, 6, 3);
  for (const NetworkCase& c : all_cases()) {
    SCOPED_TRACE(case_name(c));
    const core::ModelSpec spec = test_model(c.activation, c.depth, c.outputs, c.bias_variance);
    Network network(spec, X);
    const Eigen::VectorXd theta = core::standard_normal_matrix(engine, network.layout().size(), 1);
    network.forward(theta);
    const ReferenceForward ref = reference_forward(spec, X, theta);
    // Same arithmetic in another summation order: ≤ 5-term sums of O(1) values through
    // ≤ 4 layers differ by a few ulp; 1e-12 absolute leaves a wide margin.
    for (Eigen::Index l = 1; l <= c.depth; ++l)
      EXPECT_LT((network.activation(l) - ref.phi[static_cast<std::size_t>(l - 1)]).cwiseAbs().maxCoeff(), 1e-12);
    EXPECT_LT((network.output() - ref.output).cwiseAbs().maxCoeff(), 1e-12);
  }
}

TEST(Network, KernelsEqualScaledFeatureGramRecomputedDirectly) {
  core::Engine engine = core::make_stream(12, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd X = core::standard_normal_matrix(engine, 5, 3);
  for (double sb2 : {0.0, 0.3}) {
    SCOPED_TRACE(sb2);
    const core::ModelSpec spec = test_model(Activation::tanh, 3, 1, sb2);
    Network network(spec, X);
    const Eigen::VectorXd theta = core::standard_normal_matrix(engine, network.layout().size(), 1);
    const core::KernelStack kernels = network.empirical_kernels(theta);
    ASSERT_EQ(kernels.top_layer(), 4);
    const ReferenceForward ref = reference_forward(spec, X, theta);
    for (Eigen::Index l = 1; l <= 4; ++l) {
      // C^(1) from X (g_1/d Σ_j x_aj x_bj), C^(l+1) from the reference Φ_l, entry by entry.
      const Eigen::MatrixXd& below = l == 1 ? X : ref.phi[static_cast<std::size_t>(l - 2)];
      const double g_over_n = spec.g(l) / static_cast<double>(below.cols());
      for (Eigen::Index a = 0; a < 5; ++a) {
        for (Eigen::Index b = 0; b < 5; ++b) {
          double sum = 0.0;
          for (Eigen::Index i = 0; i < below.cols(); ++i) sum += below(a, i) * below(b, i);
          // Same sums in another order: a few ulp of O(1) entries; 1e-12 absolute.
          EXPECT_NEAR(kernels.layer(l)(a, b), sb2 + g_over_n * sum, 1e-12) << "layer " << l;
        }
      }
    }
  }
}

TEST(Network, KernelsOfFullParameterVectorIgnoreTheReadout) {
  core::Engine engine = core::make_stream(13, core::StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd X = core::standard_normal_matrix(engine, 4, 3);
  Network network(test_model(Activation::erf, 2, 2, 0.3), X);
  const ParameterLayout& layout = network.layout();
  Eigen::VectorXd theta = core::standard_normal_matrix(engine, layout.size(), 1);
  const core::KernelStack from_full = network.empirical_kernels(theta);
  const core::KernelStack from_hidden = network.empirical_kernels(theta.head(layout.hidden_size()));
  theta.tail(layout.readout_size()).setConstant(7.0);
  const core::KernelStack other_readout = network.empirical_kernels(theta);
  for (Eigen::Index l = 1; l <= 3; ++l) {
    EXPECT_EQ(from_full.layer(l), from_hidden.layer(l));
    EXPECT_EQ(from_full.layer(l), other_readout.layer(l));
  }
}

TEST(Network, InputDimensionMismatchThrowsDataErrorNamingTheField) {
  const core::ModelSpec spec = test_model(Activation::erf, 1, 1, 0.0);
  const Eigen::MatrixXd X = Eigen::MatrixXd::Ones(4, 2);
  try {
    Network network(spec, X);
    FAIL() << "no DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("model.input_dim = 3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kernelmc::sampling
