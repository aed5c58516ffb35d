// The binary form of one unit's record in a study checkpoint (study_checkpoint.hpp): the
// unit (kind, width, chain), then every field of its record in declaration order, through
// core::BinaryWriter (doubles bit for bit), framed with a checksum.
#include "core/checkpoint_io.hpp"
#include "core/error.hpp"
#include "validation/study_checkpoint.hpp"

namespace kernelmc::validation {

namespace {

constexpr std::string_view kUnitMagic = "kernelmc-checkpoint-unit 1\n";

void encode_prior(core::BinaryWriter& w, const PriorRecord& r) {
  w.integer(r.width);
  w.integer(r.networks);
  w.integer(static_cast<std::int64_t>(r.mean.size()));
  for (const Eigen::VectorXd& m : r.mean) w.vector(m);
  w.matrices(r.covariance);
  const auto variances = static_cast<Eigen::Index>(r.target_variance.size());
  w.vector(Eigen::Map<const Eigen::VectorXd>(r.target_variance.data(), variances));
  w.real(r.seconds);
}

PriorRecord decode_prior(core::BinaryReader& in) {
  PriorRecord r;
  r.width = in.integer();
  r.networks = in.integer();
  const std::int64_t layers = in.integer();
  for (std::int64_t l = 0; l < layers; ++l) r.mean.push_back(in.vector());
  r.covariance = in.matrices();
  const Eigen::VectorXd target_variance = in.vector();
  r.target_variance.assign(target_variance.data(), target_variance.data() + target_variance.size());
  r.seconds = in.real();
  return r;
}

void encode_chain(core::BinaryWriter& w, const ChainRecord& r) {
  w.integer(r.width);
  w.integer(r.chain);
  w.matrices(r.batch_means);
  w.vector(r.batch_sizes);
  w.matrices(r.summaries);
  for (const bool defined : r.summary_defined) w.integer(defined ? 1 : 0);
  w.real(r.step_size);
  w.real(r.mean_accept_stat);
  w.integer(r.sampling_transitions);
  w.integer(r.divergences);
  w.integer(r.warmup_divergences);
  w.integer(r.max_tree_depth_hits);
  w.real(r.gradient_evaluations);
  w.vector(r.energy);
  w.real(r.seconds);
}

ChainRecord decode_chain(core::BinaryReader& in) {
  ChainRecord r;
  r.width = in.integer();
  r.chain = in.integer();
  r.batch_means = in.matrices();
  r.batch_sizes = in.vector();
  r.summaries = in.matrices();
  for (bool& defined : r.summary_defined) defined = in.integer() != 0;
  r.step_size = in.real();
  r.mean_accept_stat = in.real();
  r.sampling_transitions = in.integer();
  r.divergences = in.integer();
  r.warmup_divergences = in.integer();
  r.max_tree_depth_hits = in.integer();
  r.gradient_evaluations = in.real();
  r.energy = in.vector();
  r.seconds = in.real();
  return r;
}

void encode_layer(core::BinaryWriter& w, const RouteLayerEstimate& e) {
  w.vector(e.posterior);
  w.matrix(e.posterior_covariance);
  w.vector(e.adaptation);
  w.matrix(e.adaptation_covariance);
  w.vector(e.prior);
  w.matrix(e.prior_covariance);
  w.integer(e.degrees_of_freedom);
}

RouteLayerEstimate decode_layer(core::BinaryReader& in) {
  RouteLayerEstimate e;
  e.posterior = in.vector();
  e.posterior_covariance = in.matrix();
  e.adaptation = in.vector();
  e.adaptation_covariance = in.matrix();
  e.prior = in.vector();
  e.prior_covariance = in.matrix();
  e.degrees_of_freedom = in.integer();
  return e;
}

void encode_route(core::BinaryWriter& w, const RouteRecord& r) {
  w.integer(r.width);
  w.text(r.route);
  w.matrices(r.posterior_replicates);
  w.matrices(r.prior_replicates);
  w.integer(static_cast<std::int64_t>(r.layers.size()));
  for (const RouteLayerEstimate& e : r.layers) encode_layer(w, e);
  for (const double x : {r.log_evidence, r.log_evidence_error, r.nngp_log_evidence, r.pareto_k,
                         r.effective_sample_size})
    w.real(x);
  w.integer(r.networks);
  w.text(r.warning);
  w.integer(r.trusted ? 1 : 0);
  w.real(r.mean_acceptance);
  w.integer(r.smc_steps);
  w.real(r.seconds);
}

RouteRecord decode_route(core::BinaryReader& in) {
  RouteRecord r;
  r.width = in.integer();
  r.route = in.text();
  r.posterior_replicates = in.matrices();
  r.prior_replicates = in.matrices();
  const std::int64_t layers = in.integer();
  for (std::int64_t l = 0; l < layers; ++l) r.layers.push_back(decode_layer(in));
  for (double* x : {&r.log_evidence, &r.log_evidence_error, &r.nngp_log_evidence, &r.pareto_k,
                    &r.effective_sample_size})
    *x = in.real();
  r.networks = in.integer();
  r.warning = in.text();
  r.trusted = in.integer() != 0;
  r.mean_acceptance = in.real();
  r.smc_steps = in.integer();
  r.seconds = in.real();
  return r;
}

}  // namespace

std::string encode_unit_record(const StudyUnit& unit, const UnitRecord& record) {
  core::BinaryWriter w;
  w.integer(static_cast<std::int64_t>(unit.kind));
  w.integer(unit.width);
  w.integer(unit.chain);
  if (unit.kind == StudyUnitKind::prior)
    encode_prior(w, record.prior);
  else if (unit.kind == StudyUnitKind::route)
    encode_route(w, record.route);
  else
    encode_chain(w, record.chain);
  return w.framed(kUnitMagic);
}

UnitRecord decode_unit_record(const StudyUnit& unit, std::string bytes, const std::string& source) {
  core::BinaryReader in(std::move(bytes), kUnitMagic, source);
  const StudyUnit stored{static_cast<StudyUnitKind>(in.integer()), in.integer(), in.integer()};
  if (!(stored == unit)) throw DataError(source + ": holds another unit than " + unit_name(unit));
  UnitRecord record;
  if (unit.kind == StudyUnitKind::prior)
    record.prior = decode_prior(in);
  else if (unit.kind == StudyUnitKind::route)
    record.route = decode_route(in);
  else
    record.chain = decode_chain(in);
  in.finish();
  return record;
}

}  // namespace kernelmc::validation
