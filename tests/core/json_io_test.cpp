// Tests of core/json_io.cpp: atomic writes leave no temporary file, provenance holds
// version, seed, stream derivation, the resolved config and how the binary was built.
#include "core/json_io.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/version.hpp"

namespace kernelmc::core {
namespace {

namespace fs = std::filesystem;

class JsonIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("kernelmc_json_io_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::recursive_directory_iterator(dir_))
      names.push_back(fs::relative(entry.path(), dir_).string());
    std::sort(names.begin(), names.end());
    return names;
  }
  fs::path dir_;
};

TEST_F(JsonIo, WriteFileAtomicCreatesDirectoriesAndLeavesNoTempFile) {
  const fs::path path = dir_ / "a" / "b" / "result.json";
  write_file_atomic(path, "first");
  EXPECT_EQ(read_text_file(path, "result"), "first");
  write_file_atomic(path, std::string("second\0with nul", 15));  // overwrite, binary-safe
  EXPECT_EQ(read_text_file(path, "result"), std::string("second\0with nul", 15));
  EXPECT_EQ(files(), (std::vector<std::string>{"a", "a/b", "a/b/result.json"}));
}

TEST_F(JsonIo, WriteFailureNamesPathAndLeavesNothing) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "plain") << "a file, not a directory";
  const fs::path path = dir_ / "plain" / "result.json";
  try {
    write_file_atomic(path, "x");
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
  }
  // Rename onto an existing directory fails after the temporary file was written.
  fs::create_directories(dir_ / "taken");
  EXPECT_THROW(write_file_atomic(dir_ / "taken", "x"), Error);
  EXPECT_EQ(files(), (std::vector<std::string>{"plain", "taken"}));
}

TEST_F(JsonIo, ReadTextFileRejectsMissingFileAndDirectory) {
  EXPECT_THROW(read_text_file(dir_ / "missing.txt", "input"), InputFileError);
  fs::create_directories(dir_);
  EXPECT_THROW(read_text_file(dir_, "input"), InputFileError);
}

TEST(Provenance, HoldsVersionSeedStreamVersionAndResolvedConfig) {
  Config config;
  config.run.seed = 987654321;
  config.model.depth = 2;
  const nlohmann::json j = nlohmann::json::parse(provenance_json(config));
  EXPECT_EQ(j["program"], "kernelmc");
  EXPECT_EQ(j["version"], kVersion);
  EXPECT_EQ(j["seed"].get<std::uint64_t>(), 987654321u);
  EXPECT_EQ(j["stream_derivation_version"], kStreamDerivationVersion);
  EXPECT_EQ(j["config"], nlohmann::json::parse(to_json(config)));
  EXPECT_EQ(j["config"]["model"]["depth"], 2);
  // The build: KERNELMC_ARCH (cmake/KernelmcTarget.cmake), compiler, flags, SIMD sets.
  EXPECT_EQ(j["build"]["arch"], kBuildArch);
  EXPECT_EQ(j["build"]["flags"], kBuildFlags);
  EXPECT_EQ(j["build"]["compiler"], kBuildCompiler);
  EXPECT_FALSE(j["build"]["eigen_simd"].get<std::string>().empty());
  EXPECT_FALSE(j["build"]["activation_math"].get<std::string>().empty());
}

}  // namespace
}  // namespace kernelmc::core
