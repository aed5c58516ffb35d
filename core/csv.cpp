#include "core/csv.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <system_error>

#include "core/error.hpp"
#include "core/json_io.hpp"

namespace kernelmc::core {

namespace {

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

std::string where(std::string_view source, std::size_t line) {
  return std::string(source) + " line " + std::to_string(line);
}

// One field, strictly: the whole trimmed field must be one finite number.
double parse_field(std::string_view field, std::string_view source, std::size_t line,
                   Eigen::Index column) {
  const std::string_view text = trimmed(field);
  std::string_view digits = text;
  // from_chars rejects a leading '+', which other writers may emit.
  if (digits.size() > 1 && digits[0] == '+' && digits[1] != '+' && digits[1] != '-')
    digits.remove_prefix(1);
  double value = 0.0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  const std::string prefix =
      where(source, line) + ", column " + std::to_string(column) + ": \"" + std::string(text) + "\"";
  if (ec == std::errc::result_out_of_range)
    throw DataError(prefix + " is out of the range of a double");
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
    throw DataError(prefix + " is not a number");
  if (!std::isfinite(value)) throw DataError(prefix + " is not a finite number");
  return value;
}

}  // namespace

Eigen::MatrixXd parse_csv_matrix(std::string_view text, std::string_view source, bool header,
                                 Eigen::Index expected_columns) {
  std::vector<double> values;  // row-major
  Eigen::Index columns = expected_columns;
  Eigen::Index rows = 0;
  bool header_pending = header;
  std::size_t line_number = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string_view content = trimmed(line);
    if (content.empty() || content.front() == '#') continue;
    if (header_pending) {
      header_pending = false;
      continue;
    }
    const auto count = static_cast<Eigen::Index>(std::count(line.begin(), line.end(), ',')) + 1;
    if (columns < 0) columns = count;
    if (count != columns)
      throw DataError(where(source, line_number) + ": " + std::to_string(count) +
                      " columns, expected " + std::to_string(columns));
    std::size_t start = 0;
    for (Eigen::Index column = 1; column <= count; ++column) {
      const std::size_t comma = std::min(line.find(',', start), line.size());
      values.push_back(parse_field(line.substr(start, comma - start), source, line_number, column));
      start = comma + 1;
    }
    ++rows;
  }
  if (rows == 0)
    throw DataError(std::string(source) + ": no data rows (the table is empty" +
                    (header ? " after its header line)" : ")"));
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      values.data(), rows, columns);
}

Eigen::MatrixXd read_csv_matrix(const std::filesystem::path& path, bool header,
                                Eigen::Index expected_columns) {
  return parse_csv_matrix(read_text_file(path, "CSV file"), path.string(), header,
                          expected_columns);
}

std::string format_double(double value) {
  std::array<char, 32> buffer{};  // the longest double is 24 characters
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

std::string format_csv(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  auto append_line = [&out](const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out += ',';
      out += fields[i];
    }
    out += '\n';
  };
  if (!header.empty()) append_line(header);
  for (const auto& row : rows) append_line(row);
  return out;
}

}  // namespace kernelmc::core
