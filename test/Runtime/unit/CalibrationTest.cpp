//===- CalibrationTest.cpp - calibration ranges and the table format ------===//
#include "ds/Calibration/Calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace ds_calibration;

TEST(Calibration, MinMaxRangeHoldsZero) {
  RangeCollector c;
  std::vector<float> v = {0.5f, 2.0f, 1.0f};
  c.add(v.data(), v.size());
  Range r = c.range(Method::MinMax);
  EXPECT_EQ(r.lo, 0.0f);
  EXPECT_EQ(r.hi, 2.0f);
  std::vector<float> w = {-3.0f};
  c.add(w.data(), w.size());
  r = c.range(Method::MinMax);
  EXPECT_EQ(r.lo, -3.0f);
  EXPECT_EQ(r.hi, 2.0f);
}

TEST(Calibration, NonFiniteValuesAreCountedAndLeftOut) {
  RangeCollector c;
  std::vector<float> v = {1.0f, NAN, INFINITY, -INFINITY, -1.0f};
  c.add(v.data(), v.size());
  EXPECT_EQ(c.count(), 2u);
  EXPECT_EQ(c.nonFinite(), 3u);
  Range r = c.range(Method::Entropy);
  EXPECT_EQ(r.lo, -1.0f);
  EXPECT_EQ(r.hi, 1.0f);
}

TEST(Calibration, HistogramGrowthKeepsEveryCount) {
  // The first sample sets the histogram's range; a later one 1000x larger
  // merges bins, and the 100th percentile still covers every value.
  RangeCollector c;
  std::vector<float> small(1000);
  for (int i = 0; i < 1000; ++i)
    small[i] = i / 1000.0f;
  c.add(small.data(), small.size());
  std::vector<float> large = {1000.0f};
  c.add(large.data(), large.size());
  EXPECT_GE(c.range(Method::Percentile, 100.0).hi, 1000.0f);
  // 1000 of the 1001 values are below 1: the 99.9th percentile clips the
  // outlier to the few bins at the bottom of the grown histogram.
  EXPECT_LT(c.range(Method::Percentile, 99.9).hi, 1000.0f / 64);
}

TEST(Calibration, PercentileAndEntropyClipALongTail) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(200000);
  for (float &x : v)
    x = normal(rng);
  v[0] = 60.0f; // outliers a min-max range would stretch to
  v[1] = -55.0f;
  RangeCollector c;
  c.add(v.data(), v.size());
  EXPECT_EQ(c.range(Method::MinMax).hi, 60.0f);
  Range p = c.range(Method::Percentile, 99.99);
  EXPECT_GT(p.hi, 3.0f);
  EXPECT_LT(p.hi, 5.5f);
  EXPECT_EQ(p.lo, -p.hi);
  Range e = c.range(Method::Entropy);
  EXPECT_GT(e.hi, 2.0f);
  EXPECT_LT(e.hi, 20.0f);
}

TEST(Calibration, OnlyZerosGiveAnEmptyRange) {
  RangeCollector c;
  std::vector<float> v(16, 0.0f);
  c.add(v.data(), v.size());
  for (Method m : {Method::MinMax, Method::Percentile, Method::Entropy}) {
    Range r = c.range(m);
    EXPECT_EQ(r.lo, 0.0f);
    EXPECT_EQ(r.hi, 0.0f);
  }
}

TEST(Calibration, TableRoundTripsExactly) {
  Table t;
  t.method = Method::Entropy;
  t.samples = 12;
  t.entries.push_back({"/encoder/layer.0/attention/MatMul", {-0.1f, 3.14159274f}});
  t.entries.push_back({"a node with spaces#1", {0.0f, 1e-30f}});
  Table back;
  std::string error;
  ASSERT_TRUE(parseTable(formatTable(t), back, error)) << error;
  EXPECT_EQ(back.method, Method::Entropy);
  EXPECT_EQ(back.samples, 12u);
  ASSERT_EQ(back.entries.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.entries[i].name, t.entries[i].name);
    EXPECT_EQ(back.entries[i].range.lo, t.entries[i].range.lo);
    EXPECT_EQ(back.entries[i].range.hi, t.entries[i].range.hi);
  }
}

TEST(Calibration, BadTablesSayWhichLine) {
  Table t;
  std::string error;
  EXPECT_FALSE(parseTable("", t, error));
  EXPECT_NE(error.find("empty file"), std::string::npos) << error;
  EXPECT_FALSE(parseTable("hello\n", t, error));
  EXPECT_NE(error.find("line 1: not a ds calibration table"), std::string::npos) << error;
  EXPECT_FALSE(parseTable("# ds calibration table 1\nmethod=kl samples=1\n", t, error));
  EXPECT_NE(error.find("line 2:"), std::string::npos) << error;
  EXPECT_FALSE(parseTable("# ds calibration table 1\nmethod=minmax samples=1\n0 1 a\n0 x b\n", t,
                          error));
  EXPECT_NE(error.find("line 4: the range of 'b'"), std::string::npos) << error;
  EXPECT_FALSE(parseTable("# ds calibration table 1\nmethod=minmax samples=1\n1 2 a\n", t, error));
  EXPECT_NE(error.find("does not hold 0"), std::string::npos) << error;
  EXPECT_FALSE(parseTable("# ds calibration table 1\nmethod=minmax samples=1\n0 nan a\n", t, error));
  EXPECT_FALSE(parseTable("# ds calibration table 1\nmethod=minmax samples=1\n0 1\n", t, error));
  EXPECT_NE(error.find("expected 'lo hi name'"), std::string::npos) << error;
}

TEST(Calibration, ChannelAbsMaxFollowsTheLastAxis) {
  RangeCollector c;
  std::vector<float> a = {1.0f, -4.0f, 0.5f, 2.0f, NAN, -0.25f}; // [2, 3]
  c.add(a.data(), a.size(), 3);
  std::vector<float> b = {-3.0f, 1.0f, 0.0f}; // [1, 3]
  c.add(b.data(), b.size(), 3);
  EXPECT_EQ(c.channelAbsMax(), (std::vector<float>{3.0f, 4.0f, 0.5f}));
  // A sample with another channel count drops the statistics, not mixes them.
  c.add(b.data(), 2, 2);
  EXPECT_TRUE(c.channelAbsMax().empty());
}

TEST(Calibration, SmoothQuantTablesRoundTrip) {
  Table t;
  t.samples = 3;
  t.smoothQuantAlpha = 0.5;
  t.entries.push_back({"fc", {-1.0f, 2.0f}, {0.5f, 3.25f, 0.125f}});
  t.entries.push_back({"fc2", {0.0f, 1.0f}, {}});
  std::string text = formatTable(t);
  EXPECT_NE(text.find("method=minmax samples=3 smooth-quant=0.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("absmax 0.5,3.25,0.125 fc\n"), std::string::npos) << text;
  Table back;
  std::string error;
  ASSERT_TRUE(parseTable(text, back, error)) << error;
  EXPECT_EQ(back.smoothQuantAlpha, 0.5);
  ASSERT_EQ(back.entries.size(), 2u);
  EXPECT_EQ(back.entries[0].channelAbsMax, t.entries[0].channelAbsMax);
  EXPECT_TRUE(back.entries[1].channelAbsMax.empty());
  EXPECT_FALSE(parseTable("# ds calibration table 1\nmethod=minmax samples=1 smooth-quant=2\n", back,
                          error));
  EXPECT_NE(error.find("alpha must be in (0, 1]"), std::string::npos) << error;
  EXPECT_FALSE(parseTable("# ds calibration table 1\nmethod=minmax samples=1\n0 1 a\nabsmax 1,2 b\n",
                          back, error));
  EXPECT_NE(error.find("line 4: an 'absmax"), std::string::npos) << error;
  EXPECT_FALSE(parseTable("# ds calibration table 1\nmethod=minmax samples=1\n0 1 a\nabsmax 1,-2 a\n",
                          back, error));
  for (const char *bad : {"absmax 1,2, a\n", "absmax  a\n", "absmax 1,,2 a\n",
                          "absmax 1,2 a\nabsmax 3,4 a\n"})
    EXPECT_FALSE(parseTable(std::string("# ds calibration table 1\nmethod=minmax samples=1\n0 1 a\n") +
                                bad,
                            back, error))
        << bad;
  EXPECT_NE(error.find("a second 'absmax' line for 'a'"), std::string::npos) << error;
}
