// Tests of core/csv.cpp: strict numeric fields, row-width checks, comments and header,
// messages naming source, line and column.
#include "core/csv.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "core/error.hpp"

namespace kernelmc::core {
namespace {

std::string data_error(std::string_view text, bool header = false, Eigen::Index columns = -1) {
  try {
    parse_csv_matrix(text, "x.csv", header, columns);
  } catch (const DataError& error) {
    return error.what();
  }
  return "(no DataError)";
}

TEST(Csv, ParsesRowsCommentsBlankLinesAndSpaces) {
  const Eigen::MatrixXd m = parse_csv_matrix(
      "# comment\n1, 2.5,-3e-2\n\n   \n  # indented comment\n4,+5 ,\t6\r\n", "x.csv", false);
  Eigen::MatrixXd expected(2, 3);
  expected << 1, 2.5, -3e-2, 4, 5, 6;
  EXPECT_EQ(m, expected);
}

TEST(Csv, LastLineWithoutNewlineIsRead) {
  EXPECT_EQ(parse_csv_matrix("1\n2", "x.csv", false).rows(), 2);
}

TEST(Csv, HeaderLineIsSkippedAfterComments) {
  const Eigen::MatrixXd m = parse_csv_matrix("# made by a script\nx1,x2\n1,2\n", "x.csv", true);
  ASSERT_EQ(m.rows(), 1);
  EXPECT_EQ(m(0, 1), 2.0);
  // Without header = true the same header is a non-number at line 2, column 1.
  EXPECT_EQ(data_error("# made by a script\nx1,x2\n1,2\n"),
            "x.csv line 2, column 1: \"x1\" is not a number");
}

TEST(Csv, ReadsEveryDoubleBackExactly) {
  const double values[] = {0.1, 1.0 / 3.0, -2.2250738585072014e-308, 1.7976931348623157e308,
                           5e-324, 0.7853981633974483};
  for (double v : values) {
    EXPECT_EQ(parse_csv_matrix(format_double(v), "x.csv", false)(0, 0), v) << format_double(v);
  }
  EXPECT_EQ(format_double(0.1), "0.1");
  EXPECT_EQ(format_double(1e-10), "1e-10");
}

TEST(Csv, NanIsRejectedWithLineAndColumn) {
  EXPECT_EQ(data_error("1,2,3\n4,5,nan\n"), "x.csv line 2, column 3: \"nan\" is not a finite number");
  EXPECT_EQ(data_error("inf\n"), "x.csv line 1, column 1: \"inf\" is not a finite number");
  EXPECT_EQ(data_error("1e999\n"), "x.csv line 1, column 1: \"1e999\" is out of the range of a double");
}

TEST(Csv, NonNumbersAreRejected) {
  EXPECT_EQ(data_error("1,abc\n"), "x.csv line 1, column 2: \"abc\" is not a number");
  EXPECT_EQ(data_error("1,2x\n"), "x.csv line 1, column 2: \"2x\" is not a number");
  EXPECT_EQ(data_error("1,\n"), "x.csv line 1, column 2: \"\" is not a number");
  EXPECT_EQ(data_error("1 2\n"), "x.csv line 1, column 1: \"1 2\" is not a number");
  EXPECT_EQ(data_error("++1\n"), "x.csv line 1, column 1: \"++1\" is not a number");
  EXPECT_EQ(data_error("+\n"), "x.csv line 1, column 1: \"+\" is not a number");
  EXPECT_EQ(data_error("0x10\n"), "x.csv line 1, column 1: \"0x10\" is not a number");
}

TEST(Csv, WrongColumnCountIsRejected) {
  EXPECT_EQ(data_error("1,2,3\n4,5,6\n# c\n7,8\n"), "x.csv line 4: 2 columns, expected 3");
  EXPECT_EQ(data_error("1,2\n", false, 3), "x.csv line 1: 2 columns, expected 3");
  EXPECT_EQ(parse_csv_matrix("1,2,3\n", "x.csv", false, 3).cols(), 3);
}

TEST(Csv, EmptyTableIsRejected) {
  EXPECT_NE(data_error("").find("x.csv: no data rows"), std::string::npos);
  EXPECT_NE(data_error("# only a comment\n\n").find("no data rows"), std::string::npos);
  EXPECT_NE(data_error("a,b\n", true).find("no data rows"), std::string::npos);
}

TEST(Csv, ReadFileNamesThePathInErrors) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "kernelmc_csv_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / "x.csv";
  std::ofstream(path) << "a,b\n1,2\n3,4\n";
  EXPECT_EQ(read_csv_matrix(path, true).rows(), 2);
  std::ofstream(path) << "1,2\n3,nan\n";
  try {
    read_csv_matrix(path, false);
    FAIL();
  } catch (const DataError& error) {
    EXPECT_EQ(std::string(error.what()), path.string() + " line 2, column 2: \"nan\" is not a finite number");
  }
  std::filesystem::remove_all(dir);
  try {
    read_csv_matrix(path, false);
    FAIL();
  } catch (const InputFileError& error) {
    EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos);
  }
}

TEST(Csv, FormatJoinsHeaderAndRows) {
  EXPECT_EQ(format_csv({"a", "b"}, {{"1", "2"}, {format_double(0.5), "x"}}), "a,b\n1,2\n0.5,x\n");
  EXPECT_EQ(format_csv({}, {{"1"}}), "1\n");
  // What format_csv writes, parse_csv_matrix reads back.
  const Eigen::MatrixXd m = parse_csv_matrix(
      format_csv({"u", "v"}, {{format_double(1.0 / 3.0), format_double(-1e-300)}}), "t", true);
  EXPECT_EQ(m(0, 0), 1.0 / 3.0);
  EXPECT_EQ(m(0, 1), -1e-300);
}

}  // namespace
}  // namespace kernelmc::core
