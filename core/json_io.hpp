#pragma once
// Result files and their provenance, and reading whole input files. A result is written
// under a temporary name and renamed only when complete, so a failure never leaves a
// partial file behind.
#include <filesystem>
#include <string>
#include <string_view>


namespace kernelmc::core {

struct Config;  // core/config.hpp

// The whole contents of a text file. Throws InputFileError naming the path (and `what`
// it should have been, e.g. "config file") if it is missing, a directory or unreadable.
std::string read_text_file(const std::filesystem::path& path, std::string_view what);

// Writes `contents` to `<path>.tmp-<pid>` and renames it to `path`. Creates parent
// directories. Throws kernelmc::Error naming the path on failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

// {"program": "kernelmc", "version": ..., "seed": ..., "stream_derivation_version": ...,
//  "build": {"arch", "compiler", "flags", "eigen_simd", "activation_math"},
//  "config": {...fully resolved config...}} as JSON object text, for embedding. A build
// for another ISA gives results that differ in the last bits only.
std::string provenance_json(const Config& config);

}  // namespace kernelmc::core
