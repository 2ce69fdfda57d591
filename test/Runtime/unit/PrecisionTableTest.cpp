//===- PrecisionTableTest.cpp - low-precision errors and their table ------===//
#include "ds/Calibration/PrecisionTable.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace ds_calibration;

TEST(PrecisionTable, RelativeErrorIsOverAllSamples) {
  PrecisionCollector c;
  std::vector<float> ref = {3.0f, 4.0f}, low = {3.0f, 4.5f};
  c.add(ref.data(), low.data(), ref.size());
  EXPECT_DOUBLE_EQ(c.relativeError(), 0.5 / 5.0);
  // A second, exact sample halves the squared error's share.
  c.add(ref.data(), ref.data(), ref.size());
  EXPECT_DOUBLE_EQ(c.relativeError(), std::sqrt(0.25 / 50.0));
  EXPECT_EQ(c.count(), 4u);
  EXPECT_EQ(c.overflows(), 0u);
  EXPECT_EQ(c.absMax(), 4.0f);
}

TEST(PrecisionTable, OverflowsAreCountedNonFiniteReferencesLeftOut) {
  PrecisionCollector c;
  std::vector<float> ref = {70000.0f, NAN, INFINITY, 1.0f, -2.0f};
  std::vector<float> low = {INFINITY, NAN, INFINITY, NAN, -2.0f};
  c.add(ref.data(), low.data(), ref.size());
  // 70000 -> inf and 1 -> NaN overflow; the NaN / inf references say nothing.
  EXPECT_EQ(c.overflows(), 2u);
  EXPECT_EQ(c.count(), 3u);
  EXPECT_EQ(c.absMax(), 70000.0f);
  EXPECT_EQ(c.relativeError(), 0.0);
}

TEST(PrecisionTable, ZeroReferences) {
  PrecisionCollector exact, flushed;
  std::vector<float> zeros = {0.0f, 0.0f}, small = {0.0f, 1e-8f};
  exact.add(zeros.data(), zeros.data(), 2);
  EXPECT_EQ(exact.relativeError(), 0.0);
  flushed.add(zeros.data(), small.data(), 2);
  EXPECT_TRUE(std::isinf(flushed.relativeError()));
}

TEST(PrecisionTable, RoundTrips) {
  PrecisionTable table;
  table.type = "bf16";
  table.samples = 8;
  table.entries = {{"/fc1/Gemm", 0.00125, 0, 2.5f},
                   {"name with spaces#2", INFINITY, 3, 70000.0f},
                   {"zero", 0.0, 0, 0.0f}};
  std::string text = formatPrecisionTable(table);
  EXPECT_EQ(text.substr(0, text.find('\n', text.find('\n') + 1)),
            "# ds precision table 1\ntype=bf16 samples=8");
  PrecisionTable back;
  std::string error;
  ASSERT_TRUE(parsePrecisionTable(text, back, error)) << error;
  EXPECT_EQ(back.type, "bf16");
  EXPECT_EQ(back.samples, 8u);
  ASSERT_EQ(back.entries.size(), 3u);
  EXPECT_EQ(back.entries[0].name, "/fc1/Gemm");
  EXPECT_DOUBLE_EQ(back.entries[0].relativeError, 0.00125);
  EXPECT_EQ(back.entries[1].name, "name with spaces#2");
  EXPECT_TRUE(std::isinf(back.entries[1].relativeError));
  EXPECT_EQ(back.entries[1].overflows, 3u);
  EXPECT_EQ(back.entries[1].absMax, 70000.0f);
  EXPECT_EQ(formatPrecisionTable(back), text);
}

TEST(PrecisionTable, Fp8TablesAndEachTypesDefaultBudget) {
  PrecisionTable table;
  std::string error;
  ASSERT_TRUE(parsePrecisionTable("# ds precision table 1\ntype=fp8 samples=3\n0.05 0 2.5 fc\n",
                                  table, error))
      << error;
  EXPECT_EQ(table.type, "fp8");
  ASSERT_EQ(table.entries.size(), 1u);
  EXPECT_DOUBLE_EQ(table.entries[0].relativeError, 0.05);
  EXPECT_TRUE(isPrecisionTableType("fp8"));
  EXPECT_FALSE(isPrecisionTableType("fp32"));
  EXPECT_FALSE(isPrecisionTableType("int8"));
  EXPECT_DOUBLE_EQ(defaultPrecisionBudget("fp16"), 16.0 / 2048.0);
  EXPECT_DOUBLE_EQ(defaultPrecisionBudget("bf16"), 16.0 / 256.0);
  EXPECT_DOUBLE_EQ(defaultPrecisionBudget("fp8"), 0.08);
}

TEST(PrecisionTable, BadTablesSayWhichLine) {
  PrecisionTable table;
  std::string error;
  auto fails = [&](const std::string &text, const std::string &expected) {
    EXPECT_FALSE(parsePrecisionTable(text, table, error)) << text;
    EXPECT_EQ(error, expected) << text;
  };
  fails("", "line 0: empty file, not a ds precision table");
  fails("# ds calibration table 1\n",
        "line 1: not a ds precision table (expected '# ds precision table 1')");
  fails("# ds precision table 1\n", "line 1: missing the 'type=... samples=...' line");
  fails("# ds precision table 1\ntype=int8 samples=1\n",
        "line 2: expected 'type=fp16|bf16|fp8 samples=N'");
  fails("# ds precision table 1\ntype=fp16 samples=-1\n",
        "line 2: 'samples=-1': the sample count is not a number");
  fails("# ds precision table 1\ntype=fp16 samples=1\n0.1 0 1\n",
        "line 3: expected 'error overflows absmax name'");
  fails("# ds precision table 1\ntype=fp16 samples=1\nnan 0 1 op\n",
        "line 3: the measurements of 'op' are not an error >= 0, an overflow count and a "
        "finite |x|");
  fails("# ds precision table 1\ntype=fp16 samples=1\n0.1 1.5 1 op\n",
        "line 3: the measurements of 'op' are not an error >= 0, an overflow count and a "
        "finite |x|");
  fails("# ds precision table 1\ntype=fp16 samples=1\n0.1 0 inf op\n",
        "line 3: the measurements of 'op' are not an error >= 0, an overflow count and a "
        "finite |x|");
}

TEST(PrecisionTable, FieldsAreSingleSpacedNamesUniqueCountsInRange) {
  PrecisionTable table;
  std::string error;
  // Windows line ends are read as the same table.
  ASSERT_TRUE(parsePrecisionTable("# ds precision table 1\r\ntype=fp16 samples=1\r\n0.5 0 1 a b\r\n",
                                  table, error))
      << error;
  ASSERT_EQ(table.entries.size(), 1u);
  EXPECT_EQ(table.entries[0].name, "a b");
  // A doubled space is not a name starting with a number.
  EXPECT_FALSE(parsePrecisionTable("# ds precision table 1\ntype=fp16 samples=1\n0.5  0 1 pv\n",
                                   table, error));
  EXPECT_FALSE(parsePrecisionTable(
      "# ds precision table 1\ntype=fp16 samples=1\n0.5 99999999999999999999999 1 pv\n", table,
      error));
  EXPECT_FALSE(parsePrecisionTable(
      "# ds precision table 1\ntype=fp16 samples=1\n0.5 0 1 pv\n0.1 0 1 pv\n", table, error));
  EXPECT_EQ(error, "line 4: a second measurement of 'pv'");
}
