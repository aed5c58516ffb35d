#pragma once
// Reports of the posterior run (`kernelmc sample`): a table for the terminal, the
// results as JSON, and optionally every kept draw as NumPy .npy files in (chain, draw, …)
// layout with a JSON manifest. Nothing non-finite is written: an undefined number is
// "n/a" in the table and null in JSON.
#include <filesystem>
#include <string>

#include "validation/posterior_run.hpp"

namespace kernelmc::validation {

// The human-readable summary printed on stdout: per layer trace, KTA and CKA with MCSE,
// R̂ and bulk/tail ESS; the sampler's acceptance, step size, divergences and E-BFMI; the
// kernel entries' errors; and the convergence gate's verdict.
std::string format_posterior_table(const PosteriorRunResult& result);

// Everything as JSON, with provenance (version, seed, resolved config including
// [sampler]) and the posterior settings.
std::string posterior_report_json(const PosteriorRunResult& result);

// The draws manifest (JSON): files, shapes, column names, and what was not written.
std::string posterior_draws_manifest(const PosteriorRunResult& result);

// Writes posterior.json into `directory`, and with posterior.write_draws first the
// draws (draws/summaries.npy, draws/sampler.npy, draws/kernel_layer<l>.npy for the
// layers of posterior.draw_layers when the entry draws were kept, draws/manifest.json). Each file is written atomically, the
// report last. Returns the path of posterior.json.
std::filesystem::path write_posterior_report(const PosteriorRunResult& result,
                                             const std::filesystem::path& directory);

}  // namespace kernelmc::validation
