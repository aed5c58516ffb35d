#pragma once
// Plain numeric CSV: one row per line, comma-separated, optional header line, '#' comments.
#include <Eigen/Core>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kernelmc::core {

// Parses CSV text into a matrix. Every row must have the same number of columns
// (`expected_columns` if ≥ 0). Throws DataError "<source> line 17, column 3: "nan" is
// not a finite number" (or the column count, or an empty table).
Eigen::MatrixXd parse_csv_matrix(std::string_view text, std::string_view source, bool header,
                                 Eigen::Index expected_columns = -1);

// Reads a file (InputFileError if it cannot be opened) and parses it.
Eigen::MatrixXd read_csv_matrix(const std::filesystem::path& path, bool header,
                                Eigen::Index expected_columns = -1);

// The shortest decimal text that reads back as the same double (std::to_chars), e.g.
// "0.1", "1e-10", "0.7853981633974483": full precision in the fewest characters.
std::string format_double(double value);

// Joins a header line (omitted if `header` is empty) and rows of fields already
// formatted (numbers through format_double), comma-separated, one line each.
std::string format_csv(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows);

}  // namespace kernelmc::core
