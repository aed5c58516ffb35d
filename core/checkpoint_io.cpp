#include "core/checkpoint_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace kernelmc::core {

namespace fs = std::filesystem;

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string hex64(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) out[static_cast<std::size_t>(i)] = kDigits[value & 0xF];
  return out;
}

namespace {

// Writes all of `contents` to `fd` and fsyncs it; false on any failure (errno set).
bool write_and_sync(int fd, std::string_view contents) {
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return ::fsync(fd) == 0;
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // the rename is done; only its durability is not forced
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_durable(const fs::path& path, std::string_view contents) {
  const std::string prefix = "cannot write " + path.string();
  std::error_code ec;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw Error(prefix + ": cannot create its directory (" + ec.message() + ")");
  }
  fs::path temp = path;
  temp += ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(prefix + " (" + std::strerror(errno) + ")");
  const bool written = write_and_sync(fd, contents);
  const int saved_errno = errno;
  ::close(fd);
  if (!written) {
    fs::remove(temp, ec);
    throw Error(prefix + ": write failed (" + std::strerror(saved_errno) + ")");
  }
  fs::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw Error(prefix + ": rename from " + temp.string() + " failed (" + ec.message() + ")");
  }
  sync_directory(path.parent_path());
}

void BinaryWriter::integer(std::int64_t value) {
  bytes_.append(reinterpret_cast<const char*>(&value), sizeof value);
}

void BinaryWriter::real(double value) { bytes_.append(reinterpret_cast<const char*>(&value), sizeof value); }

void BinaryWriter::text(std::string_view value) {
  integer(static_cast<std::int64_t>(value.size()));
  bytes_.append(value);
}

void BinaryWriter::matrix(const Eigen::MatrixXd& value) {
  integer(value.rows());
  integer(value.cols());
  bytes_.append(reinterpret_cast<const char*>(value.data()), sizeof(double) * static_cast<std::size_t>(value.size()));
}

void BinaryWriter::vector(const Eigen::VectorXd& value) { matrix(value); }

void BinaryWriter::matrices(const std::vector<Eigen::MatrixXd>& value) {
  integer(static_cast<std::int64_t>(value.size()));
  for (const Eigen::MatrixXd& m : value) matrix(m);
}

namespace {

// pcg-cpp keeps an engine's state and increment (its stream) protected, and its stream
// operators do not compile for the 128-bit state here (its operator<< for pcg128_t is hidden
// from the engine's); a derived view reads them and sets the state (set_stream sets the rest).
struct EngineView : Engine {
  static pcg_extras::pcg128_t& state(Engine& engine) { return engine.*(&EngineView::state_); }
  static pcg_extras::pcg128_t stream_increment(const Engine& engine) { return engine.*(&EngineView::inc_); }
};

}  // namespace

void BinaryWriter::engine(const Engine& value) {
  Engine copy = value;
  const pcg_extras::pcg128_t state = EngineView::state(copy), increment = EngineView::stream_increment(value);
  for (const pcg_extras::pcg128_t x : {state, increment}) {
    integer(static_cast<std::int64_t>(static_cast<std::uint64_t>(x >> 64)));
    integer(static_cast<std::int64_t>(static_cast<std::uint64_t>(x)));
  }
}

std::string BinaryWriter::framed(std::string_view magic) const {
  std::string out(magic);
  out += bytes_;
  const std::uint64_t checksum = fnv1a64(out);
  out.append(reinterpret_cast<const char*>(&checksum), sizeof checksum);
  return out;
}

BinaryReader::BinaryReader(std::string frame, std::string_view magic, std::string source)
    : frame_(std::move(frame)), source_(std::move(source)) {
  if (frame_.size() < magic.size() + sizeof(std::uint64_t) || frame_.compare(0, magic.size(), magic) != 0)
    throw DataError(source_ + ": not a kernelmc checkpoint file (or truncated)");
  end_ = frame_.size() - sizeof(std::uint64_t);
  std::uint64_t stored = 0;
  std::memcpy(&stored, frame_.data() + end_, sizeof stored);
  if (stored != fnv1a64(std::string_view(frame_).substr(0, end_)))
    throw DataError(source_ + ": corrupt checkpoint file (checksum mismatch): delete it to recompute its unit");
  position_ = magic.size();
}

void BinaryReader::take(void* out, std::size_t count) {
  if (count > end_ - position_) throw DataError(source_ + ": corrupt checkpoint file (truncated payload)");
  if (count == 0) return;  // an empty matrix: `out` may be null, which memcpy must not get
  std::memcpy(out, frame_.data() + position_, count);
  position_ += count;
}

std::int64_t BinaryReader::integer() {
  std::int64_t value = 0;
  take(&value, sizeof value);
  return value;
}

double BinaryReader::real() {
  double value = 0.0;
  take(&value, sizeof value);
  return value;
}

std::string BinaryReader::text() {
  const std::int64_t size = integer();
  if (size < 0 || static_cast<std::size_t>(size) > end_ - position_)
    throw DataError(source_ + ": corrupt checkpoint file (bad text length)");
  std::string value(static_cast<std::size_t>(size), '\0');
  take(value.data(), value.size());
  return value;
}

Eigen::MatrixXd BinaryReader::matrix() {
  const std::int64_t rows = integer(), cols = integer();
  const std::size_t values_left = (end_ - position_) / sizeof(double);
  if (rows < 0 || cols < 0 || (rows > 0 && static_cast<std::size_t>(cols) > values_left / static_cast<std::size_t>(rows)))
    throw DataError(source_ + ": corrupt checkpoint file (bad array shape)");
  Eigen::MatrixXd value(rows, cols);
  take(value.data(), sizeof(double) * static_cast<std::size_t>(value.size()));
  return value;
}

Eigen::VectorXd BinaryReader::vector() {
  const Eigen::MatrixXd m = matrix();
  if (m.cols() != 1 && m.size() != 0) throw DataError(source_ + ": corrupt checkpoint file (expected a vector)");
  return Eigen::Map<const Eigen::VectorXd>(m.data(), m.size());
}

std::vector<Eigen::MatrixXd> BinaryReader::matrices() {
  const std::int64_t count = integer();
  if (count < 0 || static_cast<std::size_t>(count) > (end_ - position_) / 16)
    throw DataError(source_ + ": corrupt checkpoint file (bad array count)");
  std::vector<Eigen::MatrixXd> value;
  for (std::int64_t i = 0; i < count; ++i) value.push_back(matrix());
  return value;
}

Engine BinaryReader::engine() {
  pcg_extras::pcg128_t words[2];
  for (pcg_extras::pcg128_t& x : words) {
    const auto high = static_cast<std::uint64_t>(integer());
    x = (static_cast<pcg_extras::pcg128_t>(high) << 64) | static_cast<std::uint64_t>(integer());
  }
  if ((words[1] & 1) == 0) throw DataError(source_ + ": corrupt checkpoint file (bad random-number engine stream)");
  Engine value;
  value.set_stream(words[1] >> 1);
  EngineView::state(value) = words[0];
  return value;
}

void BinaryReader::finish() const {
  if (position_ != end_) throw DataError(source_ + ": corrupt checkpoint file (unexpected trailing bytes)");
}

}  // namespace kernelmc::core
