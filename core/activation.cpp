#include "core/activation.hpp"

#include <cmath>
#include <numbers>
#include <string>

#include "core/error.hpp"

namespace kernelmc::core {

std::string_view activation_name(Activation activation) {
  switch (activation) {
    case Activation::linear: return "linear";
    case Activation::relu: return "relu";
    case Activation::erf: return "erf";
    case Activation::tanh: return "tanh";
  }
  return "unknown";
}

Activation parse_activation(std::string_view name, std::string_view field) {
  for (Activation a : {Activation::linear, Activation::relu, Activation::erf, Activation::tanh}) {
    if (name == activation_name(a)) return a;
  }
  throw ConfigError(std::string(field) + " = \"" + std::string(name) +
                    "\": unknown activation (expected linear, relu, erf or tanh)");
}

namespace {
// 2/√π, the slope of erf at 0.
constexpr double kTwoOverSqrtPi = 2.0 * std::numbers::inv_sqrtpi;
}  // namespace

double activation_value(Activation activation, double x) {
  switch (activation) {
    case Activation::linear: return x;
    case Activation::relu: return x > 0.0 ? x : 0.0;
    case Activation::erf: return std::erf(x);
    case Activation::tanh: return std::tanh(x);
  }
  return x;
}

double activation_derivative(Activation activation, double x) {
  switch (activation) {
    case Activation::linear: return 1.0;
    case Activation::relu: return x > 0.0 ? 1.0 : 0.0;
    case Activation::erf: return kTwoOverSqrtPi * std::exp(-x * x);
    case Activation::tanh: {
      const double t = std::tanh(x);
      return 1.0 - t * t;
    }
  }
  return 1.0;
}

double activation_second_derivative(Activation activation, double x) {
  switch (activation) {
    case Activation::linear: return 0.0;
    case Activation::relu: return 0.0;
    case Activation::erf: return -2.0 * x * kTwoOverSqrtPi * std::exp(-x * x);
    case Activation::tanh: {
      const double t = std::tanh(x);
      return -2.0 * t * (1.0 - t * t);
    }
  }
  return 0.0;
}

void apply_activation(Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& h,
                      Eigen::Ref<Eigen::MatrixXd> out) {
  switch (activation) {
    case Activation::linear: out = h; return;
    case Activation::relu: out = h.array().max(0.0).matrix(); return;
    case Activation::erf: out = h.unaryExpr([](double x) { return std::erf(x); }); return;
    case Activation::tanh: out = h.unaryExpr([](double x) { return std::tanh(x); }); return;
  }
}

void apply_activation_derivative(Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& h,
                                 Eigen::Ref<Eigen::MatrixXd> out) {
  switch (activation) {
    case Activation::linear: out.setOnes(); return;
    case Activation::relu: out = (h.array() > 0.0).cast<double>().matrix(); return;
    case Activation::erf: out = (kTwoOverSqrtPi * (-h.array().square()).exp()).matrix(); return;
    case Activation::tanh:
      out = h.unaryExpr([](double x) {
        const double t = std::tanh(x);
        return 1.0 - t * t;
      });
      return;
  }
}

}  // namespace kernelmc::core
