// SafetensorsFile against crafted and hostile files (bytes written directly by the test).
#include "model/safetensors.h"

#include <cstring>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/tensor_slice.h"
#include "shard/mapped_view.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"

namespace tpserve::shard {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

std::string LengthPrefix(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// 8-byte length + header + data.
std::string FileBytes(const std::string& header, const std::string& data) {
  return LengthPrefix(header.size()) + header + data;
}

class SafetensorsFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& bytes) {
    const std::string path = dir_ + "/model" + std::to_string(count_++) + ".safetensors";
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  absl::StatusOr<std::shared_ptr<const model::SafetensorsFile>> OpenBytes(
      const std::string& bytes) {
    return model::SafetensorsFile::Open(Write(bytes));
  }
  // Opening `bytes` fails with InvalidArgument mentioning the file and `what`.
  void ExpectInvalid(const std::string& bytes, const std::string& what) {
    const std::string path = Write(bytes);
    EXPECT_THAT(
        model::SafetensorsFile::Open(path),
        StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr(path), HasSubstr(what))));
  }

  std::string dir_ = ::tpserve::testing::MakeTempDir();
  int count_ = 0;
};

TEST_F(SafetensorsFileTest, ReadsValidFile) {
  const float values[6] = {1, 2, 3, 4, 5, 6};
  std::string data(reinterpret_cast<const char*>(values), sizeof(values));
  data += std::string("\x01\x02\x03\x04", 4);
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("b":{"dtype":"U8","shape":[4],"data_offsets":[24,28]}})";
  ASSERT_OK_AND_ASSIGN(auto file, OpenBytes(FileBytes(header, data)));
  EXPECT_EQ(file->num_tensors(), 2u);
  EXPECT_THAT(file->TensorNames(), ElementsAre("b", "w"));
  EXPECT_EQ(file->metadata().at("format"), "pt");
  ASSERT_OK_AND_ASSIGN(model::TensorInfo w, file->Find("w"));
  EXPECT_EQ(w.dtype, DType::kF32);
  EXPECT_EQ(w.raw_dtype, "F32");
  EXPECT_THAT(w.shape, ElementsAre(2, 3));
  EXPECT_EQ(w.byte_size, 24u);
  EXPECT_EQ(w.num_elements(), 6);
  EXPECT_EQ(w.Describe(), "F32[2, 3]");
  EXPECT_EQ(std::memcmp(w.data, values, sizeof(values)), 0);
  ASSERT_OK_AND_ASSIGN(model::TensorInfo b, file->Find("b"));
  EXPECT_EQ(static_cast<uint8_t>(b.data[3]), 4);
  EXPECT_THAT(file->Find("missing"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no tensor 'missing'")));
}

TEST_F(SafetensorsFileTest, TensorInfoKeepsMappingAlive) {
  const float v = 42.0f;
  const std::string header = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  model::TensorInfo info;
  {
    ASSERT_OK_AND_ASSIGN(
        auto file, OpenBytes(FileBytes(header, std::string(reinterpret_cast<const char*>(&v), 4))));
    ASSERT_OK_AND_ASSIGN(info, file->Find("x"));
  }  // the file object is gone; the TensorInfo still owns the mapping
  float got;
  std::memcpy(&got, info.data, 4);
  EXPECT_EQ(got, 42.0f);
}

TEST_F(SafetensorsFileTest, UnsupportedDtypeFailsOnlyOnAccess) {
  const std::string header = R"({"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
                             R"("e":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[16,20]}})";
  ASSERT_OK_AND_ASSIGN(auto file, OpenBytes(FileBytes(header, std::string(20, '\0'))));
  ASSERT_OK_AND_ASSIGN(model::TensorInfo d, file->Find("d"));
  EXPECT_FALSE(d.dtype.has_value());
  EXPECT_THAT(d.RequireDType(), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("tensor 'd': dtype F64 is not supported")));
  EXPECT_THAT(RowSliceView(d, 0, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("F64 is not supported")));
  float out[2];
  EXPECT_THAT(model::CopyTensorSlice(d, 0, 0, 2, DType::kF32, out, sizeof(out)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("F64")));
}

TEST_F(SafetensorsFileTest, EmptyAndScalarTensors) {
  const std::string header = R"({"empty":{"dtype":"BF16","shape":[0,4],"data_offsets":[0,0]},)"
                             R"("also_empty":{"dtype":"F32","shape":[3,0],"data_offsets":[0,0]},)"
                             R"("scalar":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})";
  ASSERT_OK_AND_ASSIGN(auto file, OpenBytes(FileBytes(header, std::string(4, '\0'))));
  ASSERT_OK_AND_ASSIGN(model::TensorInfo empty, file->Find("empty"));
  EXPECT_EQ(empty.byte_size, 0u);
  ASSERT_OK_AND_ASSIGN(MappedTensorView v, RowSliceView(empty, 0, 0));
  EXPECT_EQ(v.view.num_elements(), 0);
  ASSERT_OK_AND_ASSIGN(model::TensorInfo scalar, file->Find("scalar"));
  EXPECT_EQ(scalar.num_elements(), 1);
  EXPECT_THAT(RowSliceView(scalar, 0, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range for rank 0")));
}

TEST_F(SafetensorsFileTest, IgnoredPrefixIsNotValidated) {
  // The mtp tensor's offsets are nonsense; with the prefix ignored the file still opens.
  const std::string header = R"({"mtp.fc.weight":{"dtype":"XX","shape":[-1],"data_offsets":[9,1]},)"
                             R"("a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})";
  const std::string path = Write(FileBytes(header, "ab"));
  model::SafetensorsFile::Options options;
  options.ignored_prefixes = {"mtp."};
  ASSERT_OK_AND_ASSIGN(auto file, model::SafetensorsFile::Open(path, options));
  EXPECT_THAT(file->TensorNames(), ElementsAre("a"));
  EXPECT_FALSE(file->Contains("mtp.fc.weight"));
  EXPECT_THAT(model::SafetensorsFile::Open(path),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tensor 'mtp.fc.weight'")));
}

// ---- hostile files ----

TEST_F(SafetensorsFileTest, EmptyFile) { ExpectInvalid("", "file is empty"); }

TEST_F(SafetensorsFileTest, ShorterThanLengthPrefix) { ExpectInvalid("abc", "too small"); }

TEST_F(SafetensorsFileTest, HeaderLengthLargerThanFile) {
  ExpectInvalid(LengthPrefix(1000) + "{}", "header length 1000 exceeds the 2 bytes");
  ExpectInvalid(LengthPrefix(~uint64_t{0}) + "{}", "exceeds");
}

TEST_F(SafetensorsFileTest, HeaderLengthOverLimit) {
  const std::string path = Write(FileBytes(std::string("{}") + std::string(200, ' '), ""));
  model::SafetensorsFile::Options options;
  options.max_header_bytes = 100;
  EXPECT_THAT(model::SafetensorsFile::Open(path, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exceeds the limit of 100")));
}

TEST_F(SafetensorsFileTest, TinyHeader) { ExpectInvalid(FileBytes("{", ""), "too small"); }

TEST_F(SafetensorsFileTest, BadJson) {
  ExpectInvalid(FileBytes(R"({"a": {"dtype": "F32",)", "xxxx"), "invalid JSON");
  ExpectInvalid(FileBytes(std::string("{\"a\":\xff\xfe}"), ""), "invalid JSON");
}

TEST_F(SafetensorsFileTest, NonObjectJson) {
  ExpectInvalid(FileBytes("[1, 2, 3]", ""), "header must be a JSON object, got array");
  ExpectInvalid(FileBytes("\"text\"", ""), "header must be a JSON object");
  ExpectInvalid(FileBytes(R"({"a": 5})", ""), "tensor 'a': entry must be an object");
}

TEST_F(SafetensorsFileTest, DeeplyNestedJson) {
  const std::string deep = R"({"a":{"dtype":"F32","shape":)" + std::string(50000, '[') +
                           std::string(50000, ']') + R"(,"data_offsets":[0,0]}})";
  ExpectInvalid(FileBytes(deep, ""), "must hold non-negative integers");
}

TEST_F(SafetensorsFileTest, UnknownDtype) {
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"F4X","shape":[1],"data_offsets":[0,1]}})", "x"),
                "tensor 'a': unknown dtype \"F4X\"");
  ExpectInvalid(FileBytes(R"({"a":{"dtype":3,"shape":[1],"data_offsets":[0,1]}})", "x"),
                "dtype is missing or not a string");
}

TEST_F(SafetensorsFileTest, NegativeOrBadShape) {
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,0]}})", ""),
                "tensor 'a': shape [-1,4] must hold non-negative integers");
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", "xxxx"),
                "must hold non-negative integers");
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"F32","shape":"big","data_offsets":[0,4]}})", "xxxx"),
                "shape is missing or not a list");
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],)"
                          R"("data_offsets":[0,1]}})",
                          "x"),
                "shape has 17 dims");
}

TEST_F(SafetensorsFileTest, HugeShapeOverflows) {
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],)"
                          R"("data_offsets":[0,16]}})",
                          std::string(16, '\0')),
                "is too large");
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"F32","shape":[4611686018427387904],)"
                          R"("data_offsets":[0,16]}})",
                          std::string(16, '\0')),
                "is too large");
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"F32","shape":[99999999999999999999],)"
                          R"("data_offsets":[0,16]}})",
                          std::string(16, '\0')),
                "must hold non-negative integers");
}

TEST_F(SafetensorsFileTest, OffsetsOutOfRange) {
  ExpectInvalid(
      FileBytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0')),
      "tensor 'a': data_offsets [0, 16] run past the end of the 8-byte data section");
  ExpectInvalid(
      FileBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", std::string(8, '\0')),
      "must be integers with 0 <= begin <= end");
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", ""),
                "0 <= begin <= end");
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", "xxxx"),
                "data_offsets must be a list [begin, end]");
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"F32","shape":[1]}})", "xxxx"),
                "data_offsets must be a list");
}

TEST_F(SafetensorsFileTest, ByteSizeShapeMismatch) {
  ExpectInvalid(FileBytes(R"({"x.weight":{"dtype":"BF16","shape":[6,8],"data_offsets":[0,100]}})",
                          std::string(100, '\0')),
                "tensor 'x.weight': data_offsets [0, 100] hold 100 bytes but BF16[6, 8] needs 96");
}

TEST_F(SafetensorsFileTest, OverlappingTensors) {
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
                          std::string(20, '\0')),
                "tensors 'a' [0, 16] and 'b' [12, 20] overlap");
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                          R"("b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                          std::string(16, '\0')),
                "overlap");
}

TEST_F(SafetensorsFileTest, TruncatedFile) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[256],"data_offsets":[0,1024]}})";
  ExpectInvalid(FileBytes(header, std::string(1000, '\0')), "run past the end");
  ExpectInvalid(FileBytes(header, "").substr(0, 20), "exceeds the");
}

TEST_F(SafetensorsFileTest, DuplicateKeysAndBadMetadata) {
  ExpectInvalid(FileBytes(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                          R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                          "xy"),
                "key 'a' appears more than once");
  ExpectInvalid(FileBytes(R"({"__metadata__":{"format":1}})", ""),
                "__metadata__['format'] must be a string");
  ExpectInvalid(FileBytes(R"({"__metadata__":[1]})", ""), "__metadata__ must be an object");
}

TEST_F(SafetensorsFileTest, NotARegularFileOrMissing) {
  EXPECT_THAT(model::SafetensorsFile::Open(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a regular file")));
  EXPECT_THAT(model::SafetensorsFile::Open(dir_ + "/nope.safetensors"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope.safetensors")));
}

// Random byte flips in the length and header, and random truncations, of a valid file: every
// outcome is OK or InvalidArgument, and whatever opens reads in bounds (ASan checks that).
TEST_F(SafetensorsFileTest, RandomCorruptionsNeverCrash) {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]},)"
      R"("c":{"dtype":"F16","shape":[2,2],"data_offsets":[32,40]}})";
  const std::string valid = FileBytes(header, std::string(40, '\x3c'));
  const std::vector<float> r = ::tpserve::testing::RandomFloats(3000, 99, 0.0f, 1.0f);
  size_t ri = 0;
  auto next = [&](size_t bound) { return static_cast<size_t>(r[ri++ % r.size()] * bound); };
  int opened = 0;
  for (int iter = 0; iter < 600; ++iter) {
    std::string bytes = valid;
    if (iter % 4 == 3) {
      bytes.resize(next(bytes.size()));
    } else {
      const size_t flips = 1 + next(3);
      for (size_t k = 0; k < flips; ++k) {
        const size_t pos = next(8 + header.size());
        bytes[pos] =
            static_cast<char>(iter % 2 == 0 ? r[ri++ % r.size()] * 256 : bytes[pos] ^ 0x08);
      }
    }
    absl::StatusOr<std::shared_ptr<const model::SafetensorsFile>> file = OpenBytes(bytes);
    if (!file.ok()) {
      EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument) << file.status();
      continue;
    }
    ++opened;
    for (const std::string& name : (*file)->TensorNames()) {
      ASSERT_OK_AND_ASSIGN(model::TensorInfo t, (*file)->Find(name));
      std::vector<float> out(static_cast<size_t>(t.num_elements()));
      if (t.dtype.has_value() && !t.shape.empty()) {
        (void)model::CopyTensorSlice(t, 0, 0, t.shape[0], DType::kF32, out.data(), out.size() * 4);
      }
    }
  }
  EXPECT_GT(opened, 0);
}

TEST(SafetensorsDTypeTest, Tables) {
  EXPECT_EQ(model::SafetensorsDTypeSize("BF16"), 2u);
  EXPECT_EQ(model::SafetensorsDTypeSize("F8_E5M2"), 1u);
  EXPECT_EQ(model::SafetensorsDTypeSize("F64"), 8u);
  EXPECT_EQ(model::SafetensorsDTypeSize("bf16"), std::nullopt);
  EXPECT_EQ(model::SafetensorsToDType("BF16"), DType::kBF16);
  EXPECT_EQ(model::SafetensorsToDType("I16"), std::nullopt);
  for (DType d : {DType::kF32, DType::kF16, DType::kBF16, DType::kI32, DType::kI64, DType::kU8}) {
    EXPECT_EQ(model::SafetensorsToDType(model::DTypeToSafetensors(d)), d);
  }
}

}  // namespace
}  // namespace tpserve::shard
