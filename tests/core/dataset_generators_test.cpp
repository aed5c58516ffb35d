// Tests of core/dataset_generators.cpp: XOR, Config A/B (THEORY.md §8), the teacher
// network, and make_dataset for every kind including CSV.
#include "core/dataset_generators.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"

namespace kernelmc::core {
namespace {

TEST(XorDataset, ShapeLabelsAndCentres) {
  Engine engine = make_stream(1, StreamPurpose::test, 0, 0);
  const Dataset data = xor_dataset(10, 5, 0.0, engine);
  ASSERT_EQ(data.inputs.rows(), 10);
  ASSERT_EQ(data.inputs.cols(), 5);
  ASSERT_EQ(data.targets.rows(), 10);
  ASSERT_EQ(data.targets.cols(), 1);
  const double centres[4][2] = {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}};
  for (Eigen::Index a = 0; a < 10; ++a) {
    const double* c = centres[a % 4];
    EXPECT_EQ(data.inputs(a, 0), c[0]);
    EXPECT_EQ(data.inputs(a, 1), c[1]);
    EXPECT_TRUE((data.inputs.row(a).tail(3).array() == 0.0).all());
    EXPECT_EQ(data.targets(a, 0), c[0] * c[1]);  // XOR label sign(c₁c₂)
  }
}

TEST(XorDataset, NoiseIsTheStreamsNormalsTimesNoise) {
  // Independent route: the same stream's standard normals, scaled, plus the centres.
  Engine engine = make_stream(3, StreamPurpose::dataset, 0, 0);
  const Dataset data = xor_dataset(6, 3, 0.25, engine);
  Engine replay = make_stream(3, StreamPurpose::dataset, 0, 0);
  const Eigen::MatrixXd z = standard_normal_matrix(replay, 6, 3);
  Engine zero_noise_engine = make_stream(3, StreamPurpose::dataset, 0, 0);
  const Dataset centres = xor_dataset(6, 3, 0.0, zero_noise_engine);
  EXPECT_TRUE(data.inputs.isApprox(centres.inputs + 0.25 * z, 1e-15));
  EXPECT_EQ(data.targets, centres.targets);
}

TEST(MakeDataset, SameSeedSameDataDifferentSeedDifferentData) {
  for (const char* kind : {"xor", "teacher"}) {
    DataSettings settings;
    settings.kind = kind;
    const Dataset a = make_dataset(settings, 11);
    const Dataset b = make_dataset(settings, 11);
    const Dataset c = make_dataset(settings, 12);
    EXPECT_EQ(a.inputs, b.inputs) << kind;
    EXPECT_EQ(a.targets, b.targets) << kind;
    EXPECT_NE(a.inputs, c.inputs) << kind;
    EXPECT_EQ(a.size(), settings.points);
    EXPECT_EQ(a.input_dim(), settings.input_dim);
    EXPECT_EQ(a.name, kind);
  }
}

TEST(ConfigA, ExactInputsOfTheorySection8) {
  const Dataset data = config_a_dataset();
  const double s = std::sqrt(3.0);
  Eigen::MatrixXd X(3, 3);
  X << s, 0, 0, 0.6 * s, 0.8 * s, 0, 0, 0.6 * s, 0.8 * s;
  EXPECT_EQ(data.inputs, X);
  EXPECT_EQ(data.targets, Eigen::Vector3d(1, -1, 1));
  EXPECT_EQ(data.name, "config_a");
}

TEST(ConfigA, InputKernelHasDiagonalG) {
  // THEORY.md §8: ‖x‖² = d, so C^(1)_aa = g; off-diagonals g·(0.6, 0, 0.48).
  // Deterministic: a few roundings of √3 and 0.6, 0.8; tolerance 1e-14.
  const Dataset data = config_a_dataset();
  for (double g : {1.0, 2.0, 0.5}) {
    const Eigen::MatrixXd C = input_kernel(data.inputs, g, 0.0);
    for (Eigen::Index a = 0; a < 3; ++a) EXPECT_NEAR(C(a, a), g, 1e-14);
    EXPECT_NEAR(C(0, 1), 0.6 * g, 1e-14);
    EXPECT_NEAR(C(1, 2), 0.48 * g, 1e-14);
    EXPECT_EQ(C(0, 2), 0.0);
    EXPECT_EQ(C, C.transpose());
  }
}

TEST(ConfigB, ExactInputsTargetsAndInputKernel) {
  const Dataset data = config_b_dataset();
  Eigen::MatrixXd X(4, 3);
  X << 1, 1, 1, 1, -1, 1, -1, 1, 1, -1, -1, 1;
  EXPECT_EQ(data.inputs, X);
  EXPECT_EQ(data.targets, Eigen::Vector4d(1, -1, -1, 1));
  // THEORY.md §8.1: C^(1) = (2/3) X Xᵀ: diagonal 2, off-diagonals ±2/3 with the sign of x_a·x_b.
  const Eigen::MatrixXd C = input_kernel(data.inputs, 2.0, 0.0);
  for (Eigen::Index a = 0; a < 4; ++a) {
    EXPECT_NEAR(C(a, a), 2.0, 1e-15);
    for (Eigen::Index b = 0; b < 4; ++b) {
      if (a != b) {
        EXPECT_NEAR(std::abs(C(a, b)), 2.0 / 3.0, 1e-15);
      }
    }
  }
  EXPECT_GT(C(0, 1), 0.0);
  EXPECT_LT(C(0, 3), 0.0);
}

TEST(TeacherDataset, TargetsFollowTheTeacherFormula) {
  // Independent route: replay the stream in the documented draw order (X, W₀, w, noise)
  // and evaluate the teacher with explicit loops. Deterministic; tolerance 1e-12.
  const Eigen::Index P = 7, d = 3, Nt = 5;
  const double noise = 0.3;
  Engine engine = make_stream(5, StreamPurpose::test, 0, 0);
  const Dataset data = teacher_dataset(P, d, Nt, Activation::tanh, noise, engine);
  Engine replay = make_stream(5, StreamPurpose::test, 0, 0);
  const Eigen::MatrixXd X = standard_normal_matrix(replay, P, d);
  const Eigen::MatrixXd W0 = standard_normal_matrix(replay, Nt, d);
  const Eigen::MatrixXd w = standard_normal_matrix(replay, Nt, 1);
  const Eigen::MatrixXd eps = standard_normal_matrix(replay, P, 1);
  EXPECT_EQ(data.inputs, X);
  for (Eigen::Index a = 0; a < P; ++a) {
    double f = 0.0;
    for (Eigen::Index i = 0; i < Nt; ++i) {
      double pre = 0.0;
      for (Eigen::Index k = 0; k < d; ++k) pre += X(a, k) * W0(i, k);
      f += std::tanh(pre / std::sqrt(double(d))) * w(i, 0);
    }
    EXPECT_NEAR(data.targets(a, 0), f / std::sqrt(double(Nt)) + noise * eps(a, 0), 1e-12);
  }
}

TEST(MakeDataset, BuildsTheFixedConfigs) {
  DataSettings settings;
  settings.kind = "config_a";
  EXPECT_EQ(make_dataset(settings, 1).inputs, config_a_dataset().inputs);
  settings.kind = "config_b";
  EXPECT_EQ(make_dataset(settings, 1).targets, config_b_dataset().targets);
}

TEST(MakeDataset, ValidatesSettings) {
  DataSettings settings;
  settings.kind = "spiral";
  EXPECT_THROW(make_dataset(settings, 1), ConfigError);
}

class CsvDataset : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / "kernelmc_csv_dataset_test";
    std::filesystem::create_directories(dir_);
    settings_.kind = "csv";
    settings_.inputs_csv = (dir_ / "x.csv").string();
    settings_.targets_csv = (dir_ / "y.csv").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  DataSettings settings_;
};

TEST_F(CsvDataset, ReadsInputsAndTargets) {
  std::ofstream(settings_.inputs_csv) << "x1,x2\n1,2\n3,4\n5,6\n";
  std::ofstream(settings_.targets_csv) << "y\n1\n-1\n1\n";
  settings_.csv_header = true;
  const Dataset data = make_dataset(settings_, 1);
  EXPECT_EQ(data.size(), 3);
  EXPECT_EQ(data.input_dim(), 2);
  EXPECT_EQ(data.output_dim(), 1);
  EXPECT_EQ(data.inputs(2, 1), 6.0);
  EXPECT_EQ(data.targets(1, 0), -1.0);
  EXPECT_EQ(data.name, "csv:" + settings_.inputs_csv);
}

TEST_F(CsvDataset, RowCountMismatchNamesBothFiles) {
  std::ofstream(settings_.inputs_csv) << "1,2\n3,4\n5,6\n";
  std::ofstream(settings_.targets_csv) << "1\n-1\n";
  try {
    make_dataset(settings_, 1);
    FAIL();
  } catch (const DataError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(settings_.inputs_csv), std::string::npos) << message;
    EXPECT_NE(message.find(settings_.targets_csv), std::string::npos) << message;
  }
}

TEST_F(CsvDataset, MissingFileIsInputFileError) {
  std::ofstream(settings_.inputs_csv) << "1,2\n";
  EXPECT_THROW(make_dataset(settings_, 1), InputFileError);
}

}  // namespace
}  // namespace kernelmc::core
