#include "coordinator/tokenizer/py_json.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpserve::tokenizer {
namespace {

// Expected strings are Python 3's repr() / json.dumps(ensure_ascii=False) of the same values.
TEST(PyJsonTest, FloatReprMatchesPython) {
  const std::vector<std::pair<double, const char*>> cases = {
      {1.0, "1.0"},
      {0.1, "0.1"},
      {1e16, "1e+16"},
      {1234567890123456.0, "1234567890123456.0"},
      {1e-5, "1e-05"},
      {0.0001, "0.0001"},
      {-2.5, "-2.5"},
      {1.5e300, "1.5e+300"},
      {123.456, "123.456"},
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {100.0, "100.0"},
      {1e15, "1000000000000000.0"},
      {12345678.9, "12345678.9"}};
  for (const auto& [v, want] : cases) EXPECT_EQ(PyFloatRepr(v), want) << want;
}

TEST(PyJsonTest, DumpsMatchesPython) {
  const nlohmann::ordered_json v = nlohmann::ordered_json::parse(
      R"({"b": 1, "a": [true, null, "x\"\n\u0001é\u2028\u007f"], "c": {}, "d": [], "e": 2.50,
          "f": -3, "g": 18446744073709551615})");
  EXPECT_EQ(PyJsonDumps(v),
            "{\"b\": 1, \"a\": [true, null, \"x\\\"\\n\\u0001é\u2028\x7f\"], \"c\": {}, \"d\": [], "
            "\"e\": 2.5, \"f\": -3, \"g\": 18446744073709551615}");
}

TEST(PyJsonTest, StrOfScalars) {
  EXPECT_EQ(PyStr(true), "True");
  EXPECT_EQ(PyStr(false), "False");
  EXPECT_EQ(PyStr(nullptr), "None");
  EXPECT_EQ(PyStr(42), "42");
  EXPECT_EQ(PyStr(0.5), "0.5");
  EXPECT_EQ(PyStr("raw \"text\""), "raw \"text\"");
}

TEST(PyJsonTest, StripUsesPythonWhiteSpace) {
  EXPECT_EQ(PyStrip(" \x1c\u3000x\u180e\u200b \n"), "x\u180e\u200b");
  EXPECT_EQ(PyStrip("\u00a0\u2029"), "");
  EXPECT_EQ(PyStrip("é"), "é");
}

}  // namespace
}  // namespace tpserve::tokenizer
