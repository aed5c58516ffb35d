#include "validation/study_family_io.hpp"

#include <nlohmann/json.hpp>
#include <cstdio>
#include <string>

#include "core/error.hpp"
#include "core/json_io.hpp"
#include "validation/validation_records_io.hpp"

namespace kernelmc::validation {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kManifest = "family_records.json";
constexpr const char* kFormat = "kernelmc-family-records";

std::string member_directory(std::size_t m) {
  char name[32];
  std::snprintf(name, sizeof name, "member_%03zu", m + 1);
  return name;
}

}  // namespace

fs::path write_family_records(const FamilyRecords& records, const fs::path& directory) {
  json members = json::array();
  for (std::size_t m = 0; m < records.members.size(); ++m) {
    if (records.members[m].units.empty()) {
      members.push_back(nullptr);
      continue;
    }
    write_records(records.members[m], directory / member_directory(m));
    members.push_back(member_directory(m));
  }
  json manifest;
  manifest["format"] = kFormat;
  manifest["format_version"] = kFamilyRecordsFormatVersion;
  manifest["config_toml"] = core::to_toml(records.config);
  manifest["members"] = members;
  const fs::path path = directory / kManifest;
  core::write_file_atomic(path, manifest.dump(1) + "\n");
  return path;
}

bool holds_family_records(const fs::path& directory) { return fs::exists(directory / kManifest); }

FamilyRecords read_family_records(const fs::path& directory) {
  const fs::path path = directory / kManifest;
  const std::string text = core::read_text_file(path, "family records manifest");
  FamilyRecords out;
  try {
    const json manifest = json::parse(text);
    if (manifest.at("format").get<std::string>() != kFormat ||
        manifest.at("format_version").get<int>() != kFamilyRecordsFormatVersion)
      throw DataError(path.string() + ": not a version " + std::to_string(kFamilyRecordsFormatVersion) + " " +
                      kFormat + " manifest");
    out.config = core::parse_config(manifest.at("config_toml").get<std::string>(), {}, path.string());
    for (const json& member : manifest.at("members")) {
      const std::string expected = member_directory(out.members.size());
      if (member.is_null()) {
        out.members.emplace_back();
        continue;
      }
      if (member.get<std::string>() != expected)
        throw DataError(path.string() + ": member " + std::to_string(out.members.size() + 1) + " is in \"" +
                        member.get<std::string>() + "\", expected \"" + expected + "\"");
      out.members.push_back(read_records(directory / expected));
    }
  } catch (const json::exception& e) {
    throw DataError(path.string() + ": " + e.what());
  } catch (const ConfigError& e) {
    throw DataError(path.string() + ": config_toml: " + e.what());
  }
  return out;
}

}  // namespace kernelmc::validation
