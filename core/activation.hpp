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

// Elementwise forms over whole matrices (all P inputs × N neurons at once).
// `out` must have the shape of `h`; it may alias `h`.
void apply_activation(Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& h,
                      Eigen::Ref<Eigen::MatrixXd> out);
void apply_activation_derivative(Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& h,
                                 Eigen::Ref<Eigen::MatrixXd> out);

}  // namespace kernelmc::core
