#include "validation/validation_records_io.hpp"

#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json_io.hpp"
#include "core/npy.hpp"

namespace kernelmc::validation {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string unit_prefix(const StudyUnit& u) {
  if (u.kind == StudyUnitKind::prior) return "prior_N" + std::to_string(u.width);
  return "chain_N" + std::to_string(u.width) + "_c" + std::to_string(u.chain);
}

// Stacks matrices of equal shape into C order [count, rows, cols].
std::vector<double> stack_row_major(const std::vector<Eigen::MatrixXd>& ms) {
  std::vector<double> v;
  for (const Eigen::MatrixXd& m : ms) {
    for (Eigen::Index r = 0; r < m.rows(); ++r)
      for (Eigen::Index c = 0; c < m.cols(); ++c) v.push_back(m(r, c));
  }
  return v;
}

struct NpyArray {
  std::vector<Eigen::Index> shape;
  std::vector<double> values;
};

// Reads a little-endian float64 C-order .npy of format 1.0, as core::npy_bytes writes it.
NpyArray read_npy(const fs::path& path) {
  const std::string bytes = core::read_text_file(path, "record array");
  const auto bad = [&path](const std::string& why) { return DataError(path.string() + ": " + why); };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw bad("not an .npy file");
  if (bytes[6] != 1 || bytes[7] != 0) throw bad("unsupported .npy version");
  const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  if (bytes.size() < 10 + header_len) throw bad("truncated header");
  const std::string header = bytes.substr(10, header_len);
  if (header.find("'descr': '<f8'") == std::string::npos) throw bad("dtype is not <f8");
  if (header.find("'fortran_order': False") == std::string::npos) throw bad("not C order");
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'shape': \\(([0-9, ]*)\\)"))) throw bad("no shape");
  NpyArray a;
  std::size_t count = 1;
  const std::string dims = m[1].str();
  const std::regex number("[0-9]+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    a.shape.push_back(static_cast<Eigen::Index>(std::stoll(it->str())));
    count *= static_cast<std::size_t>(a.shape.back());
  }
  if (bytes.size() != 10 + header_len + 8 * count) throw bad("data size does not match the shape");
  a.values.resize(count);
  std::memcpy(a.values.data(), bytes.data() + 10 + header_len, 8 * count);  // little-endian host (as the writer)
  return a;
}

// [count, rows, cols] back into matrices.
std::vector<Eigen::MatrixXd> unstack(const NpyArray& a, const fs::path& path) {
  if (a.shape.size() != 3) throw DataError(path.string() + ": expected a 3-D array");
  std::vector<Eigen::MatrixXd> out;
  std::size_t i = 0;
  for (Eigen::Index n = 0; n < a.shape[0]; ++n) {
    Eigen::MatrixXd m(a.shape[1], a.shape[2]);
    for (Eigen::Index r = 0; r < m.rows(); ++r)
      for (Eigen::Index c = 0; c < m.cols(); ++c) m(r, c) = a.values[i++];
    out.push_back(std::move(m));
  }
  return out;
}

Eigen::VectorXd vector_of(const NpyArray& a, const fs::path& path) {
  if (a.shape.size() != 1) throw DataError(path.string() + ": expected a 1-D array");
  return Eigen::Map<const Eigen::VectorXd>(a.values.data(), static_cast<Eigen::Index>(a.values.size()));
}

std::vector<double> vector_values(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }

template <typename T>
T field(const json& j, const char* key, const fs::path& manifest) {
  if (!j.contains(key)) throw DataError(manifest.string() + ": missing field \"" + key + "\"");
  try {
    return j.at(key).get<T>();
  } catch (const json::exception& e) {
    throw DataError(manifest.string() + ": field \"" + key + "\": " + e.what());
  }
}

}  // namespace

fs::path write_records(const StudyRecords& records, const fs::path& directory) {
  if (!records.routes.empty())
    throw DataError("records: posterior.route = " + records.routes.front().route +
                    " units are not written as records (only chain studies are sharded and merged)");
  json manifest;
  manifest["format"] = "kernelmc-validation-records";
  manifest["format_version"] = kRecordsFormatVersion;
  manifest["provenance"] = json::parse(core::provenance_json(records.config));
  manifest["config_toml"] = core::to_toml(records.config);
  manifest["units"] = json::array();
  for (const StudyUnit& u : records.units)
    manifest["units"].push_back({{"kind", u.kind == StudyUnitKind::prior ? "prior" : "chain"},
                                 {"width", u.width},
                                 {"chain", u.chain}});
  const Eigen::Index L = records.config.model.depth;
  manifest["priors"] = json::array();
  for (const PriorRecord& r : records.priors) {
    const std::string p = unit_prefix({StudyUnitKind::prior, r.width, -1});
    const Eigen::Index K = r.mean.front().size();
    std::vector<Eigen::MatrixXd> means;
    for (const Eigen::VectorXd& m : r.mean) means.push_back(m.transpose());
    core::write_npy(directory / (p + "_mean.npy"), stack_row_major(means), {L, K});
    core::write_npy(directory / (p + "_covariance.npy"), stack_row_major(r.covariance), {L, K, K});
    manifest["priors"].push_back({{"width", r.width}, {"networks", r.networks}, {"seconds", r.seconds},
                                  {"mean", p + "_mean.npy"}, {"covariance", p + "_covariance.npy"}});
  }
  manifest["chains"] = json::array();
  for (const ChainRecord& r : records.chains) {
    const std::string p = unit_prefix({StudyUnitKind::chain, r.width, r.chain});
    const Eigen::Index K = r.batch_means.front().rows(), B = r.batch_means.front().cols();
    const Eigen::Index draws = r.summaries.front().rows();
    core::write_npy(directory / (p + "_batch_means.npy"), stack_row_major(r.batch_means), {L, K, B});
    core::write_npy(directory / (p + "_summaries.npy"), stack_row_major(r.summaries), {L, draws, 3});
    core::write_npy(directory / (p + "_batch_sizes.npy"), vector_values(r.batch_sizes), {B});
    core::write_npy(directory / (p + "_energy.npy"), vector_values(r.energy), {r.energy.size()});
    manifest["chains"].push_back({{"width", r.width},
                                  {"chain", r.chain},
                                  {"summary_defined", r.summary_defined},
                                  {"step_size", r.step_size},
                                  {"mean_accept_stat", r.mean_accept_stat},
                                  {"sampling_transitions", r.sampling_transitions},
                                  {"divergences", r.divergences},
                                  {"warmup_divergences", r.warmup_divergences},
                                  {"max_tree_depth_hits", r.max_tree_depth_hits},
                                  {"gradient_evaluations", r.gradient_evaluations},
                                  {"seconds", r.seconds},
                                  {"batch_means", p + "_batch_means.npy"},
                                  {"summaries", p + "_summaries.npy"},
                                  {"batch_sizes", p + "_batch_sizes.npy"},
                                  {"energy", p + "_energy.npy"}});
  }
  const fs::path path = directory / "records.json";
  core::write_file_atomic(path, manifest.dump(1) + "\n");
  return path;
}

namespace {

// One prior record of the manifest (`j`) and its .npy files, for L layers.
PriorRecord read_prior_record(const json& j, const fs::path& directory, const fs::path& path, Eigen::Index L) {
  PriorRecord p;
  p.width = field<Eigen::Index>(j, "width", path);
  p.networks = field<Eigen::Index>(j, "networks", path);
  p.seconds = field<double>(j, "seconds", path);
  const fs::path mean_path = directory / field<std::string>(j, "mean", path);
  const NpyArray mean = read_npy(mean_path);
  if (mean.shape.size() != 2 || mean.shape[0] != L) throw DataError(mean_path.string() + ": expected L × K");
  for (Eigen::Index l = 0; l < L; ++l)
    p.mean.push_back(Eigen::Map<const Eigen::VectorXd>(mean.values.data() + l * mean.shape[1], mean.shape[1]));
  const fs::path cov_path = directory / field<std::string>(j, "covariance", path);
  p.covariance = unstack(read_npy(cov_path), cov_path);
  if (static_cast<Eigen::Index>(p.covariance.size()) != L) throw DataError(cov_path.string() + ": expected L layers");
  return p;
}

// One chain record of the manifest (`j`) and its .npy files, for L layers.
ChainRecord read_chain_record(const json& j, const fs::path& directory, const fs::path& path, Eigen::Index L) {
  ChainRecord c;
  c.width = field<Eigen::Index>(j, "width", path);
  c.chain = field<Eigen::Index>(j, "chain", path);
  c.summary_defined = field<std::array<bool, 3>>(j, "summary_defined", path);
  c.step_size = field<double>(j, "step_size", path);
  c.mean_accept_stat = field<double>(j, "mean_accept_stat", path);
  c.sampling_transitions = field<Eigen::Index>(j, "sampling_transitions", path);
  c.divergences = field<Eigen::Index>(j, "divergences", path);
  c.warmup_divergences = field<Eigen::Index>(j, "warmup_divergences", path);
  c.max_tree_depth_hits = field<Eigen::Index>(j, "max_tree_depth_hits", path);
  c.gradient_evaluations = field<double>(j, "gradient_evaluations", path);
  c.seconds = field<double>(j, "seconds", path);
  const fs::path bm = directory / field<std::string>(j, "batch_means", path);
  c.batch_means = unstack(read_npy(bm), bm);
  const fs::path su = directory / field<std::string>(j, "summaries", path);
  c.summaries = unstack(read_npy(su), su);
  const fs::path bs = directory / field<std::string>(j, "batch_sizes", path);
  c.batch_sizes = vector_of(read_npy(bs), bs);
  const fs::path en = directory / field<std::string>(j, "energy", path);
  c.energy = vector_of(read_npy(en), en);
  if (static_cast<Eigen::Index>(c.batch_means.size()) != L || static_cast<Eigen::Index>(c.summaries.size()) != L ||
      c.batch_means.front().cols() != c.batch_sizes.size())
    throw DataError(bm.string() + ": array shapes do not match the config");
  return c;
}

}  // namespace

StudyRecords read_records(const fs::path& directory) {
  const fs::path path = directory / "records.json";
  const std::string text = core::read_text_file(path, "validation records manifest");
  json manifest;
  try {
    manifest = json::parse(text);
  } catch (const json::exception& e) {
    throw DataError(path.string() + ": not valid JSON: " + e.what());
  }
  if (field<std::string>(manifest, "format", path) != "kernelmc-validation-records")
    throw DataError(path.string() + ": not a kernelmc validation records manifest");
  if (field<int>(manifest, "format_version", path) != kRecordsFormatVersion)
    throw DataError(path.string() + ": format_version must be " + std::to_string(kRecordsFormatVersion));
  StudyRecords r;
  try {
    r.config = core::parse_config(field<std::string>(manifest, "config_toml", path), {}, path.string());
  } catch (const ConfigError& e) {
    throw DataError(path.string() + ": config_toml: " + e.what());
  }
  for (const json& u : field<json>(manifest, "units", path)) {
    const std::string kind = field<std::string>(u, "kind", path);
    if (kind != "prior" && kind != "chain") throw DataError(path.string() + ": unit kind \"" + kind + "\"");
    r.units.push_back({kind == "prior" ? StudyUnitKind::prior : StudyUnitKind::chain,
                       field<Eigen::Index>(u, "width", path), field<Eigen::Index>(u, "chain", path)});
  }
  const Eigen::Index L = r.config.model.depth;
  for (const json& j : field<json>(manifest, "priors", path))
    r.priors.push_back(read_prior_record(j, directory, path, L));
  for (const json& j : field<json>(manifest, "chains", path))
    r.chains.push_back(read_chain_record(j, directory, path, L));
  if (r.priors.size() + r.chains.size() != r.units.size())
    throw DataError(path.string() + ": the records do not match the unit list");
  return r;
}

}  // namespace kernelmc::validation
