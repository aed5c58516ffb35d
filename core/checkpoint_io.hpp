#pragma once
// The file layer of checkpoints (`kernelmc validate --resume`): a stable content hash,
// durable atomic writes, and a framed binary encoding of numbers and Eigen arrays.
//   hash     FNV-1a 64 (offset basis 14695981039346656037, prime 1099511628211; Fowler,
//            Noll & Vo): a fixed, documented function of the bytes, the same on every
//            compiler and version (std::hash is not).
//   writes   into a temporary file beside the target, fsync, rename over the target, fsync
//            of the directory: after a crash or SIGKILL the target is either the old file or
//            the complete new one, never a torn one.
//   frames   magic text, the payload, then the FNV-1a 64 of magic and payload (8 bytes):
//            a truncated or altered file fails its checksum. Numbers are stored as their
//            little-endian bytes (the host's, as core/npy.hpp), doubles bit for bit (NaN and
//            ±∞ included), so a decoded record is the written one exactly.
#include <Eigen/Core>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/rng.hpp"

namespace kernelmc::core {

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash = 14695981039346656037ULL);
std::string hex64(std::uint64_t value);  // 16 lower-case hex digits

// Writes `contents` to `path` durably and atomically (the header's scheme); creates the
// parent directory. Throws kernelmc::Error naming the path on failure.
void write_file_durable(const std::filesystem::path& path, std::string_view contents);

// Builds a frame's payload.
class BinaryWriter {
 public:
  void integer(std::int64_t value);
  void real(double value);
  void text(std::string_view value);
  void matrix(const Eigen::MatrixXd& value);  // rows, cols, column-major values
  void vector(const Eigen::VectorXd& value);
  void matrices(const std::vector<Eigen::MatrixXd>& value);
  // The engine's complete state: its 128-bit state and increment (the stream), bit for bit.
  void engine(const Engine& value);
  // Another writer's payload, as if written here.
  void append(const BinaryWriter& other) { bytes_ += other.bytes_; }
  // magic + payload + checksum.
  std::string framed(std::string_view magic) const;

 private:
  std::string bytes_;
};

// Reads a frame back. The constructor checks the magic and the checksum; every read checks
// that the payload holds the bytes. Each failure is a DataError naming `source` (the file).
class BinaryReader {
 public:
  BinaryReader(std::string frame, std::string_view magic, std::string source);
  std::int64_t integer();
  double real();
  std::string text();
  Eigen::MatrixXd matrix();
  Eigen::VectorXd vector();
  std::vector<Eigen::MatrixXd> matrices();
  Engine engine();
  const std::string& source() const { return source_; }
  // DataError unless every payload byte was read.
  void finish() const;

 private:
  void take(void* out, std::size_t count);
  std::string frame_;
  std::string source_;
  std::size_t position_ = 0;
  std::size_t end_ = 0;  // end of the payload
};

// Where the partial state of one running unit of work (a chain, an SMC run) is kept beyond
// the process, so that a killed unit continues from its last saved state instead of starting
// again (validation/study_checkpoint.hpp keeps it in a file). The unit calls `due` at each of
// its safe points (cheap: a clock read), `save` with its complete state when due, and `load`
// once before it starts. A unit restored from its last save and run to the end gives the
// bits of an uninterrupted run. Used by one thread at a time.
class PartialStateStore {
 public:
  virtual ~PartialStateStore() = default;
  // The last saved state, its payload to read in the order it was written; none if the unit
  // never saved. DataError naming the file if it is corrupt.
  virtual std::optional<BinaryReader> load() = 0;
  // Whether the unit should save now (the checkpoint interval has elapsed).
  virtual bool due() = 0;
  virtual void save(const BinaryWriter& state) = 0;
};

}  // namespace kernelmc::core
