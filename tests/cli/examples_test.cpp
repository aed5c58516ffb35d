// Every config in examples/ loads as it is (the README tells users to run them unchanged), and
// the CSV files it names exist relative to the repository root, where the examples are run.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "core/config.hpp"

namespace fs = std::filesystem;

TEST(Examples, EveryConfigLoadsAndNamesExistingFiles) {
  const fs::path root = KERNELMC_SOURCE_DIR;
  std::vector<fs::path> configs;
  for (const auto& entry : fs::directory_iterator(root / "examples"))
    if (entry.path().extension() == ".toml") configs.push_back(entry.path());
  ASSERT_GE(configs.size(), 4u);
  for (const fs::path& path : configs) {
    SCOPED_TRACE(path.string());
    kernelmc::core::Config config;
    ASSERT_NO_THROW(config = kernelmc::core::load_config(path, {}));
    if (config.data.kind == "csv") {
      EXPECT_TRUE(fs::exists(root / config.data.inputs_csv)) << config.data.inputs_csv;
      EXPECT_TRUE(fs::exists(root / config.data.targets_csv)) << config.data.targets_csv;
    }
  }
}
