#pragma once
// Activation functions φ and their first two derivatives (THEORY.md §1.1, §2).
// erf is the unscaled erf(x) of THEORY.md §6.2 (φ'(0) = 2/√π, g_c = π/4 at σ_b = 0).
#include <Eigen/Core>
#include <string>
#include <string_view>

namespace kernelmc::core {

enum class Activation { linear, relu, erf, tanh };

// "linear", "relu", "erf", "tanh".
std::string_view activation_name(Activation activation);

// Parses a name; throws ConfigError naming `field` and the value if it is unknown.
Activation parse_activation(std::string_view name, std::string_view field = "model.activation");

// Scalar forms, for quadrature nodes.
double activation_value(Activation activation, double x);              // φ(x)
double activation_derivative(Activation activation, double x);         // φ'(x)
double activation_second_derivative(Activation activation, double x);  // φ''(x); 0 for ReLU (distributional part dropped)

// Elementwise forms over whole matrices (all P inputs × N neurons at once), vectorised
// by glibc's libmvec (core/activation.cpp): erf, tanh and erf' = (2/√π)e^{−x²} within
// 6 ulp of std::erf, std::tanh and std::exp (tests/core/activation_test.cpp). Each entry depends only on its
// own input, never on its position or the matrix shape. `out` must have the shape of
// `h`; it may alias `h`.
void apply_activation(Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& h,
                      Eigen::Ref<Eigen::MatrixXd> out);
void apply_activation_derivative(Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& h,
                                 Eigen::Ref<Eigen::MatrixXd> out);
// delta ← delta ∘ φ'(h), the reverse-mode step through φ, without a φ' buffer. `phi` is
// φ(h) (tanh reuses it: φ' = 1 − φ²).
void multiply_by_activation_derivative(Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& h,
                                       const Eigen::Ref<const Eigen::MatrixXd>& phi,
                                       Eigen::Ref<Eigen::MatrixXd> delta);

// Which library evaluates the vectorised forms, for the provenance of results
// (e.g. "glibc libmvec, AVX-512 (erf, tanh, exp)").
std::string_view activation_math_library();

}  // namespace kernelmc::core
