// Tests of core/model_spec.cpp: uniform models and validate(ModelSpec).
#include "core/model_spec.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "core/error.hpp"

namespace kernelmc::core {
namespace {

TEST(ModelSpec, UniformModelHasLWidthsAndLPlusOneG) {
  const ModelSpec spec = uniform_model(3, 2, 16, Activation::tanh, 1.5, 0.1, 0.5);
  EXPECT_EQ(spec.depth(), 2);
  EXPECT_EQ(spec.width(0), 3);
  EXPECT_EQ(spec.width(2), 16);
  EXPECT_EQ(spec.weight_variances.size(), 3u);
  EXPECT_EQ(spec.g(3), 1.5);
  EXPECT_NO_THROW(validate(spec));
  EXPECT_EQ(with_uniform_width(spec, 64).widths, (std::vector<Eigen::Index>{64, 64}));
}

TEST(ModelSpec, ValidateNamesTheBadField) {
  const ModelSpec good = uniform_model(3, 2, 16, Activation::erf, 1.0, 0.0, 1.0);
  auto message = [](const ModelSpec& spec) -> std::string {
    try {
      validate(spec);
    } catch (const ConfigError& error) {
      return error.what();
    }
    return "(no ConfigError)";
  };
  ModelSpec bad = good;
  bad.input_dim = 0;
  EXPECT_NE(message(bad).find("model.input_dim"), std::string::npos);
  bad = good;
  bad.widths.clear();
  EXPECT_NE(message(bad).find("model.depth"), std::string::npos);
  bad = good;
  bad.widths[1] = 0;
  EXPECT_NE(message(bad).find("model.widths[2]"), std::string::npos);
  bad = good;
  bad.weight_variances.pop_back();
  EXPECT_NE(message(bad).find("model.g"), std::string::npos);
  bad = good;
  bad.weight_variances[2] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(message(bad).find("model.g[3]"), std::string::npos);
  bad = good;
  bad.bias_variance = -1;
  EXPECT_NE(message(bad).find("model.bias_variance"), std::string::npos);
  bad = good;
  bad.kappa = 0;
  EXPECT_NE(message(bad).find("model.kappa"), std::string::npos);
  bad = good;
  bad.output_dim = 0;
  EXPECT_NE(message(bad).find("model.output_dim"), std::string::npos);
}

}  // namespace
}  // namespace kernelmc::core
