#include "core/json_io.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include <Eigen/Core>

#include "core/activation.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/version.hpp"

#if KERNELMC_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace kernelmc::core {

namespace {

// The BLAS of this build and, for OpenBLAS, the core type its runtime dispatch chose on
// this machine (its kernels, hence the last bits of a product, depend on it).
std::string blas_description() {
#if KERNELMC_HAVE_OPENBLAS
  // sampling/detail/gemm.cpp uses only the pthreads flavour (1) for the products.
  const bool used = openblas_get_parallel() == 1;
  return std::string(kBuildBlas) + ", core " + openblas_get_corename() +
         (used ? "" : ", not used for products (not its thread-safe pthreads flavour)");
#else
  return kBuildBlas;
#endif
}

}  // namespace

std::string read_text_file(const std::filesystem::path& path, std::string_view what) {
  const std::string prefix = path.string() + ": cannot read " + std::string(what);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputFileError(prefix + " (it is a directory)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputFileError(prefix + " (" + std::strerror(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputFileError(prefix + " (read error)");
  return text.str();
}

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  const std::string prefix = "cannot write " + path.string();
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw Error(prefix + ": cannot create its directory (" + ec.message() + ")");
  }
  std::filesystem::path temp = path;
  temp += ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(prefix + " (" + std::strerror(errno) + ")");
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    if (!out) {
      std::filesystem::remove(temp, ec);
      throw Error(prefix + ": write failed (disk full?)");
    }
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw Error(prefix + ": rename from " + temp.string() + " failed (" + ec.message() + ")");
  }
}

std::string provenance_json(const Config& config) {
  nlohmann::ordered_json provenance;
  provenance["program"] = "kernelmc";
  provenance["version"] = kVersion;
  provenance["seed"] = config.run.seed;
  provenance["stream_derivation_version"] = kStreamDerivationVersion;
  // How this binary was compiled: results of another ISA differ in the last bits only.
  provenance["build"] = {{"arch", kBuildArch},
                         {"compiler", kBuildCompiler},
                         {"flags", kBuildFlags},
                         {"eigen_simd", Eigen::SimdInstructionSetsInUse()},
                         {"activation_math", activation_math_library()},
                         {"blas", blas_description()}};
  provenance["config"] = nlohmann::ordered_json::parse(to_json(config));
  return provenance.dump(2);
}

}  // namespace kernelmc::core
