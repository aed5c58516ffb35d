#include "validation/study_checkpoint.hpp"

#include <map>
#include <utility>
#include <nlohmann/json.hpp>

#include "core/checkpoint_io.hpp"
#include "core/error.hpp"
#include "core/json_io.hpp"
#include "core/version.hpp"

namespace kernelmc::validation {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using core::comparable_config;

std::string data_hash(const core::Dataset& data) {
  core::BinaryWriter w;
  w.matrix(data.inputs);
  w.matrix(data.targets);
  return core::hex64(core::fnv1a64(w.framed("")));
}

// "section.key" → value of every leaf of a config's JSON form.
void flatten(const json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (!j.is_object()) {
    out[prefix] = j.dump();
    return;
  }
  for (const auto& [key, value] : j.items()) flatten(value, prefix.empty() ? key : prefix + "." + key, out);
}

// The first config field whose value differs between the checkpoint's and this run's.
std::string first_config_difference(const json& stored, const core::Config& config) {
  std::map<std::string, std::string> before, now;
  flatten(stored, "", before);
  flatten(json::parse(core::to_json(comparable_config(config))), "", now);
  for (const auto& [key, value] : now) {
    const auto it = before.find(key);
    if (it == before.end()) return key + " (not in the checkpoint)";
    if (it->second != value) return key + " = " + it->second + " in the checkpoint, " + value + " now";
  }
  for (const auto& [key, value] : before)
    if (!now.count(key)) return key + " (only in the checkpoint)";
  return "a value that prints alike (compare the configs' TOML)";
}

json manifest_of(const std::string& command, const core::Config& config, const core::Dataset& data,
                 const std::vector<std::string>& units) {
  const core::Config comparable = comparable_config(config);
  return {{"format", "kernelmc-study-checkpoint"},
          {"format_version", kCheckpointFormatVersion},
          {"kernelmc_version", kVersion},
          {"command", command},
          {"config_hash", core::hex64(core::fnv1a64(core::to_toml(comparable)))},
          {"data_hash", data_hash(data)},
          {"units", units},
          {"config", json::parse(core::to_json(comparable))}};
}

std::string field_text(const json& manifest, const char* key, const fs::path& path) {
  if (!manifest.contains(key)) throw DataError(path.string() + ": corrupt checkpoint manifest (no \"" + key + "\")");
  return manifest.at(key).dump();
}

// ConfigError naming the first field of `expected` that `stored` does not share.
void check_manifest(const json& stored, const json& expected, const core::Config& config, const fs::path& path) {
  const std::string refused = "--resume: the checkpoint " + path.string() + " is not this run's: ";
  for (const char* key : {"format", "format_version", "kernelmc_version", "command"}) {
    if (field_text(stored, key, path) != expected.at(key).dump())
      throw ConfigError(refused + key + " = " + field_text(stored, key, path) + " there, " + expected.at(key).dump() +
                        " here");
  }
  if (field_text(stored, "config_hash", path) != expected.at("config_hash").dump())
    throw ConfigError(refused + "config hash " + field_text(stored, "config_hash", path) + " there, " +
                      expected.at("config_hash").dump() + " here (" +
                      first_config_difference(stored.value("config", json::object()), config) + ")");
  if (field_text(stored, "data_hash", path) != expected.at("data_hash").dump())
    throw ConfigError(refused + "data hash " + field_text(stored, "data_hash", path) + " there, " +
                      expected.at("data_hash").dump() + " here (the data's inputs or targets differ)");
  if (field_text(stored, "units", path) != expected.at("units").dump())
    throw ConfigError(refused + "its unit list differs (another --shard?): " + field_text(stored, "units", path));
}

json read_manifest(const fs::path& path) {
  if (!fs::exists(path))
    throw InputFileError("--resume: no checkpoint at " + path.string() +
                         " (the run finished, or it never started in that directory)");
  try {
    return json::parse(core::read_text_file(path, "checkpoint manifest"));
  } catch (const json::exception& e) {
    throw DataError(path.string() + ": corrupt checkpoint manifest: " + e.what());
  }
}

}  // namespace

fs::path checkpoint_directory(const fs::path& output_dir) { return output_dir / "checkpoint"; }

CheckpointFolder::CheckpointFolder(const fs::path& output_dir, const std::string& command, const core::Config& config,
                                   const core::Dataset& data, const std::vector<std::string>& units, bool resume)
    : directory_(checkpoint_directory(output_dir)) {
  const json expected = manifest_of(command, config, data, units);
  const fs::path manifest = directory_ / "manifest.json";
  if (resume) {
    check_manifest(read_manifest(manifest), expected, config, manifest);
    return;
  }
  std::error_code ec;
  fs::remove_all(directory_, ec);
  core::write_file_durable(manifest, expected.dump(1) + "\n");
}

bool CheckpointFolder::read(const std::string& file, std::string& bytes) const {
  if (!fs::exists(path(file))) return false;
  bytes = core::read_text_file(path(file), "checkpoint unit");
  return true;
}

void CheckpointFolder::write(const std::string& file, const std::string& bytes) const {
  core::write_file_durable(path(file), bytes);
}

void CheckpointFolder::remove_file(const std::string& file) const {
  std::error_code ec;
  fs::remove(path(file), ec);
}

void CheckpointFolder::remove() const {
  std::error_code ec;
  fs::remove_all(directory_, ec);
}

namespace {

constexpr std::string_view kPartialMagic = "kernelmc-checkpoint-partial 1\n";

}  // namespace

std::string partial_file_name(const std::string& unit_file) {
  const std::string stem = unit_file.substr(0, unit_file.rfind(".bin"));
  return stem + ".partial.bin";
}

PartialStateFile::PartialStateFile(const CheckpointFolder& folder, std::string file, const CheckpointSchedule& schedule)
    : folder_(folder), file_(std::move(file)), schedule_(schedule), last_save_(std::chrono::steady_clock::now()) {}

std::optional<core::BinaryReader> PartialStateFile::load() {
  std::string bytes;
  if (!folder_.read(file_, bytes)) return std::nullopt;
  return core::BinaryReader(std::move(bytes), kPartialMagic, folder_.path(file_).string());
}

bool PartialStateFile::due() {
  if (schedule_.every_safe_points > 0) return ++safe_points_ % schedule_.every_safe_points == 0;
  if (!(schedule_.interval_seconds > 0.0)) return false;
  const std::chrono::duration<double> since = std::chrono::steady_clock::now() - last_save_;
  return since.count() >= schedule_.interval_seconds;
}

void PartialStateFile::save(const core::BinaryWriter& state) {
  folder_.write(file_, state.framed(kPartialMagic));
  last_save_ = std::chrono::steady_clock::now();
}

namespace {

std::vector<std::string> unit_names(const std::vector<StudyUnit>& units) {
  std::vector<std::string> names;
  for (const StudyUnit& u : units) names.push_back(unit_name(u));
  return names;
}

}  // namespace

std::string unit_file_name(const StudyUnit& u) { return unit_file_stem(u) + ".bin"; }

StudyCheckpoint::StudyCheckpoint(const fs::path& output_dir, const std::string& command, const core::Config& config,
                                 const core::Dataset& data, const std::vector<StudyUnit>& units, bool resume,
                                 const CheckpointSchedule& schedule)
    : StudyCheckpoint(std::make_shared<const CheckpointFolder>(output_dir, command, config, data, unit_names(units),
                                                               resume),
                      "", schedule) {}

StudyCheckpoint::StudyCheckpoint(std::shared_ptr<const CheckpointFolder> folder, std::string file_prefix,
                                 const CheckpointSchedule& schedule)
    : folder_(std::move(folder)), file_prefix_(std::move(file_prefix)), schedule_(schedule) {}

bool StudyCheckpoint::load(const StudyUnit& unit, UnitRecord& record) {
  std::string bytes;
  if (!folder_->read(file_name(unit), bytes)) return false;
  record = decode_unit_record(unit, std::move(bytes), folder_->path(file_name(unit)).string());
  ++loaded_;
  return true;
}

void StudyCheckpoint::save(const StudyUnit& unit, const UnitRecord& record) {
  folder_->write(file_name(unit), encode_unit_record(unit, record));
  folder_->remove_file(partial_file_name(file_name(unit)));
}

std::unique_ptr<core::PartialStateStore> StudyCheckpoint::partial(const StudyUnit& unit) {
  if (unit.kind == StudyUnitKind::prior) return nullptr;
  return std::make_unique<PartialStateFile>(*folder_, partial_file_name(file_name(unit)), schedule_);
}

}  // namespace kernelmc::validation
