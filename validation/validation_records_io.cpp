#include "validation/validation_records_io.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
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

constexpr std::array<std::pair<StudyUnitKind, const char*>, 3> kUnitKindNames{
    {{StudyUnitKind::prior, "prior"}, {StudyUnitKind::chain, "chain"}, {StudyUnitKind::route, "route"}}};

const char* unit_kind_name(StudyUnitKind kind) {
  for (const auto& [k, name] : kUnitKindNames)
    if (k == kind) return name;
  return "?";
}

// A double as JSON: a number, or "nan", "inf", "-inf" (JSON has no non-finite numbers).
json real_json(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return x;
}
std::vector<json> reals_json(const std::vector<double>& xs) {
  std::vector<json> out;
  for (const double x : xs) out.push_back(real_json(x));
  return out;
}

// Rows of equal-length vectors as one rows × length matrix.
Eigen::MatrixXd rows_of(const std::vector<Eigen::VectorXd>& vs) {
  Eigen::MatrixXd out(static_cast<Eigen::Index>(vs.size()), vs.empty() ? 0 : vs.front().size());
  for (std::size_t i = 0; i < vs.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = vs[i].transpose();
  return out;
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

// A double written by real_json (`name` for the message).
double real_value(const json& v, const std::string& name, const fs::path& manifest) {
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  if (v.is_number()) return v.get<double>();
  if (v == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (v == "inf" || v == "-inf") return v == "inf" ? kInfinity : -kInfinity;
  throw DataError(manifest.string() + ": field \"" + name + "\": not a number");
}
double real_field(const json& j, const char* key, const fs::path& manifest) {
  return real_value(field<json>(j, key, manifest), key, manifest);
}

json prior_json(const PriorRecord& r, const fs::path& directory, Eigen::Index L) {
  const std::string p = unit_file_stem({StudyUnitKind::prior, r.width, -1});
  const Eigen::Index K = r.mean.front().size();
  core::write_npy(directory / (p + "_mean.npy"), stack_row_major({rows_of(r.mean)}), {L, K});
  json j{{"width", r.width}, {"networks", r.networks}, {"seconds", r.seconds}, {"mean", p + "_mean.npy"},
         {"covariance", nullptr}, {"target_variance", reals_json(r.target_variance)}};
  // A route study's prior unit keeps no covariance (study_units.hpp).
  if (!r.covariance.empty()) {
    core::write_npy(directory / (p + "_covariance.npy"), stack_row_major(r.covariance), {L, K, K});
    j["covariance"] = p + "_covariance.npy";
  }
  return j;
}

json chain_json(const ChainRecord& r, const fs::path& directory, Eigen::Index L) {
  const std::string p = unit_file_stem({StudyUnitKind::chain, r.width, r.chain});
  const Eigen::Index K = r.batch_means.front().rows(), B = r.batch_means.front().cols();
  const Eigen::Index draws = r.summaries.front().rows();
  core::write_npy(directory / (p + "_batch_means.npy"), stack_row_major(r.batch_means), {L, K, B});
  core::write_npy(directory / (p + "_summaries.npy"), stack_row_major(r.summaries), {L, draws, 3});
  core::write_npy(directory / (p + "_batch_sizes.npy"), vector_values(r.batch_sizes), {B});
  core::write_npy(directory / (p + "_energy.npy"), vector_values(r.energy), {r.energy.size()});
  return {{"width", r.width},
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
          {"energy", p + "_energy.npy"}};
}

// A route unit: its replicates and point estimates (the layers' covariances are recomputed
// from the replicates on reading, bit for bit) and its scalars.
json route_json(const RouteRecord& r, const fs::path& directory, Eigen::Index L) {
  const std::string p = unit_file_stem({StudyUnitKind::route, r.width, -1});
  const Eigen::Index K = r.posterior_replicates.front().rows(), R = r.posterior_replicates.front().cols();
  std::vector<Eigen::VectorXd> posterior, prior;
  for (const RouteLayerEstimate& e : r.layers) {
    posterior.push_back(e.posterior);
    prior.push_back(e.prior);
  }
  core::write_npy(directory / (p + "_posterior_replicates.npy"), stack_row_major(r.posterior_replicates), {L, K, R});
  core::write_npy(directory / (p + "_prior_replicates.npy"), stack_row_major(r.prior_replicates), {L, K, R});
  core::write_npy(directory / (p + "_posterior.npy"), stack_row_major({rows_of(posterior)}), {L, K});
  core::write_npy(directory / (p + "_prior.npy"), stack_row_major({rows_of(prior)}), {L, K});
  return {{"width", r.width},
          {"route", r.route},
          {"log_evidence", real_json(r.log_evidence)},
          {"log_evidence_error", real_json(r.log_evidence_error)},
          {"nngp_log_evidence", real_json(r.nngp_log_evidence)},
          {"pareto_k", real_json(r.pareto_k)},
          {"effective_sample_size", real_json(r.effective_sample_size)},
          {"networks", r.networks},
          {"warning", r.warning},
          {"trusted", r.trusted},
          {"mean_acceptance", real_json(r.mean_acceptance)},
          {"smc_steps", r.smc_steps},
          {"seconds", r.seconds},
          {"posterior_replicates", p + "_posterior_replicates.npy"},
          {"prior_replicates", p + "_prior_replicates.npy"},
          {"posterior", p + "_posterior.npy"},
          {"prior", p + "_prior.npy"}};
}

}  // namespace

fs::path write_records(const StudyRecords& records, const fs::path& directory) {
  json manifest;
  manifest["format"] = "kernelmc-validation-records";
  manifest["format_version"] = kRecordsFormatVersion;
  manifest["provenance"] = json::parse(core::provenance_json(records.config));
  manifest["config_toml"] = core::to_toml(records.config);
  manifest["units"] = json::array();
  for (const StudyUnit& u : records.units)
    manifest["units"].push_back({{"kind", unit_kind_name(u.kind)}, {"width", u.width}, {"chain", u.chain}});
  const Eigen::Index L = records.config.model.depth;
  manifest["priors"] = json::array();
  for (const PriorRecord& r : records.priors) manifest["priors"].push_back(prior_json(r, directory, L));
  manifest["chains"] = json::array();
  for (const ChainRecord& r : records.chains) manifest["chains"].push_back(chain_json(r, directory, L));
  manifest["routes"] = json::array();
  for (const RouteRecord& r : records.routes) manifest["routes"].push_back(route_json(r, directory, L));
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
  if (j.contains("target_variance"))  // absent in records written before route studies had records
    for (const json& v : field<json>(j, "target_variance", path))
      p.target_variance.push_back(real_value(v, "target_variance", path));
  if (field<json>(j, "covariance", path).is_null()) return p;  // a route study's prior unit
  const fs::path cov_path = directory / field<std::string>(j, "covariance", path);
  p.covariance = unstack(read_npy(cov_path), cov_path);
  if (static_cast<Eigen::Index>(p.covariance.size()) != L) throw DataError(cov_path.string() + ": expected L layers");
  return p;
}

// An L × K array of point estimates as L vectors.
std::vector<Eigen::VectorXd> read_layer_rows(const fs::path& file, Eigen::Index L) {
  const NpyArray a = read_npy(file);
  if (a.shape.size() != 2 || a.shape[0] != L) throw DataError(file.string() + ": expected L × K");
  std::vector<Eigen::VectorXd> out;
  for (Eigen::Index l = 0; l < L; ++l)
    out.push_back(Eigen::Map<const Eigen::VectorXd>(a.values.data() + l * a.shape[1], a.shape[1]));
  return out;
}

// One route record of the manifest (`j`) and its .npy files, for L layers.
RouteRecord read_route_record(const json& j, const fs::path& directory, const fs::path& path, Eigen::Index L) {
  RouteRecord r;
  r.width = field<Eigen::Index>(j, "width", path);
  r.route = field<std::string>(j, "route", path);
  r.log_evidence = real_field(j, "log_evidence", path);
  r.log_evidence_error = real_field(j, "log_evidence_error", path);
  r.nngp_log_evidence = real_field(j, "nngp_log_evidence", path);
  r.pareto_k = real_field(j, "pareto_k", path);
  r.effective_sample_size = real_field(j, "effective_sample_size", path);
  r.networks = field<Eigen::Index>(j, "networks", path);
  r.warning = field<std::string>(j, "warning", path);
  r.trusted = field<bool>(j, "trusted", path);
  r.mean_acceptance = real_field(j, "mean_acceptance", path);
  r.smc_steps = field<Eigen::Index>(j, "smc_steps", path);
  r.seconds = field<double>(j, "seconds", path);
  const fs::path post = directory / field<std::string>(j, "posterior_replicates", path);
  const fs::path prior = directory / field<std::string>(j, "prior_replicates", path);
  r.posterior_replicates = unstack(read_npy(post), post);
  r.prior_replicates = unstack(read_npy(prior), prior);
  const std::vector<Eigen::VectorXd> posterior =
      read_layer_rows(directory / field<std::string>(j, "posterior", path), L);
  const std::vector<Eigen::VectorXd> prior_points = read_layer_rows(directory / field<std::string>(j, "prior", path), L);
  if (static_cast<Eigen::Index>(r.posterior_replicates.size()) != L || r.prior_replicates.size() != posterior.size())
    throw DataError(post.string() + ": array shapes do not match the config");
  for (std::size_t l = 0; l < posterior.size(); ++l) {
    if (r.posterior_replicates[l].rows() != posterior[l].size() ||
        r.prior_replicates[l].rows() != posterior[l].size() || r.posterior_replicates[l].cols() < 2 ||
        r.prior_replicates[l].cols() != r.posterior_replicates[l].cols())
      throw DataError(post.string() + ": array shapes do not match the point estimates");
    r.layers.push_back(
        route_layer_estimate(r.posterior_replicates[l], r.prior_replicates[l], posterior[l], prior_points[l]));
  }
  return r;
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
    const auto named = std::find_if(kUnitKindNames.begin(), kUnitKindNames.end(),
                                    [&](const auto& entry) { return kind == entry.second; });
    if (named == kUnitKindNames.end()) throw DataError(path.string() + ": unit kind \"" + kind + "\"");
    r.units.push_back({named->first, field<Eigen::Index>(u, "width", path), field<Eigen::Index>(u, "chain", path)});
  }
  const Eigen::Index L = r.config.model.depth;
  for (const json& j : field<json>(manifest, "priors", path))
    r.priors.push_back(read_prior_record(j, directory, path, L));
  for (const json& j : field<json>(manifest, "chains", path))
    r.chains.push_back(read_chain_record(j, directory, path, L));
  if (manifest.contains("routes"))
    for (const json& j : field<json>(manifest, "routes", path))
      r.routes.push_back(read_route_record(j, directory, path, L));
  if (r.priors.size() + r.chains.size() + r.routes.size() != r.units.size())
    throw DataError(path.string() + ": the records do not match the unit list");
  return r;
}

}  // namespace kernelmc::validation
