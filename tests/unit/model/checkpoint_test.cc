// Checkpoint (single and sharded), slicing with conversion, and the writer.
#include "model/checkpoint.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/model_spec.h"
#include "model/model_tensors.h"
#include "model/tensor_slice.h"
#include "shard/mapped_view.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"
#include "tools/model/safetensors_writer.h"

namespace tpserve::shard {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

// Zero-copy rows of a checkpoint tensor, as the weight loader takes them.
absl::StatusOr<MappedTensorView> RowSlice(const model::Checkpoint& ckpt, std::string_view name,
                                          int64_t begin, int64_t end) {
  absl::StatusOr<model::TensorInfo> info = ckpt.Find(name);
  if (!info.ok()) return info.status();
  return RowSliceView(*info, begin, end);
}

// `values` rounded to `dtype`, as raw bytes.
std::string Encode(const std::vector<float>& values, DType dtype) {
  std::string bytes(values.size() * DTypeSize(dtype), '\0');
  EXPECT_OK(model::ConvertElements(values.data(), DType::kF32, bytes.data(), dtype,
                                   static_cast<int64_t>(values.size())));
  return bytes;
}

std::vector<float> Decode(const void* bytes, DType dtype, size_t n) {
  std::vector<float> out(n);
  EXPECT_OK(model::ConvertElements(bytes, dtype, out.data(), DType::kF32, static_cast<int64_t>(n)));
  return out;
}

tools::SafetensorsTensorData Tensor(const std::string& name, DType dtype,
                                    std::vector<int64_t> shape, uint64_t seed) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return {name, std::string(model::DTypeToSafetensors(dtype)), std::move(shape),
          Encode(::tpserve::testing::RandomFloats(n, seed), dtype)};
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

class ShardedCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(tools::WriteSafetensors(dir_ + "/model-00001-of-00002.safetensors",
                                      {Tensor("embed.weight", DType::kBF16, {8, 4}, 1),
                                       Tensor("mtp.fc.weight", DType::kBF16, {4, 8}, 2)},
                                      {{"format", "pt"}}));
    ASSERT_OK(tools::WriteSafetensors(dir_ + "/model-00002-of-00002.safetensors",
                                      {Tensor("layers.0.w", DType::kF32, {3, 5}, 3),
                                       Tensor("norm.weight", DType::kF16, {4}, 4)}));
    WriteIndex(R"({"metadata": {"total_size": 172}, "weight_map": {
        "embed.weight": "model-00001-of-00002.safetensors",
        "mtp.fc.weight": "model-00001-of-00002.safetensors",
        "mtp.layers.0.x": "model-00009-of-00009.safetensors",
        "layers.0.w": "model-00002-of-00002.safetensors",
        "norm.weight": "model-00002-of-00002.safetensors"}})");
  }
  void WriteIndex(const std::string& text) {
    WriteText(dir_ + "/" + std::string(model::kWeightsIndexFile), text);
  }

  std::string dir_ = ::tpserve::testing::MakeTempDir();
};

TEST_F(ShardedCheckpointTest, OpensAndListsWithoutMtp) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<model::Checkpoint> ckpt, model::Checkpoint::Open(dir_));
  EXPECT_TRUE(ckpt->sharded());
  EXPECT_EQ(ckpt->files().size(), 2u);
  EXPECT_THAT(ckpt->TensorNames(), ElementsAre("embed.weight", "layers.0.w", "norm.weight"));
  EXPECT_FALSE(ckpt->Contains("mtp.fc.weight"));
  EXPECT_TRUE(ckpt->Contains("norm.weight"));
  EXPECT_EQ(ckpt->total_tensor_bytes(), 8u * 4 * 2 + 3 * 5 * 4 + 4 * 2);
  ASSERT_OK_AND_ASSIGN(model::TensorInfo w, ckpt->Find("layers.0.w"));
  EXPECT_THAT(w.shape, ElementsAre(3, 5));
  EXPECT_EQ(w.dtype, DType::kF32);
  EXPECT_THAT(w.file, HasSubstr("model-00002-of-00002.safetensors"));
  EXPECT_THAT(Decode(w.data, DType::kF32, 15),
              ::testing::ElementsAreArray(::tpserve::testing::RandomFloats(15, 3)));
  EXPECT_THAT(ckpt->Find("lm_head.weight"),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("tensor 'lm_head.weight'"), HasSubstr(dir_))));
  EXPECT_THAT(ckpt->Find("mtp.fc.weight"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("mtp")));
}

TEST_F(ShardedCheckpointTest, MissingShardFile) {
  WriteIndex(R"({"weight_map": {"embed.weight": "model-00001-of-00002.safetensors",
                                "gone.weight": "model-00003-of-00003.safetensors"}})");
  EXPECT_THAT(model::Checkpoint::Open(dir_),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("model-00003-of-00003.safetensors")));
}

TEST_F(ShardedCheckpointTest, TensorMissingFromItsShard) {
  WriteIndex(R"({"weight_map": {"embed.weight": "model-00002-of-00002.safetensors"}})");
  EXPECT_THAT(model::Checkpoint::Open(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tensor 'embed.weight' is listed in "
                                 "model-00002-of-00002.safetensors but that file lacks it")));
}

TEST_F(ShardedCheckpointTest, MalformedIndex) {
  WriteIndex("{\"weight_map\": ");
  EXPECT_THAT(model::Checkpoint::Open(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid JSON")));
  WriteIndex(R"({"metadata": {}})");
  EXPECT_THAT(model::Checkpoint::Open(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("weight_map is missing")));
  WriteIndex(R"({"weight_map": {"embed.weight": 3}})");
  EXPECT_THAT(model::Checkpoint::Open(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("weight_map['embed.weight'] must be")));
  for (const char* bad : {"../model-00001-of-00002.safetensors", "/etc/passwd", "..", ""}) {
    WriteIndex(std::string(R"({"weight_map": {"embed.weight": ")") + bad + "\"}}");
    EXPECT_THAT(model::Checkpoint::Open(dir_),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("expected a file name inside the model directory")))
        << bad;
  }
}

TEST_F(ShardedCheckpointTest, SingleFileWinsOverIndex) {
  ASSERT_OK(tools::WriteSafetensors(dir_ + "/model.safetensors",
                                    {Tensor("only.weight", DType::kF32, {2}, 9)}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<model::Checkpoint> ckpt, model::Checkpoint::Open(dir_));
  EXPECT_FALSE(ckpt->sharded());
  EXPECT_THAT(ckpt->TensorNames(), ElementsAre("only.weight"));
}

TEST(CheckpointTest, EmptyDirectory) {
  const std::string dir = ::tpserve::testing::MakeTempDir();
  EXPECT_THAT(
      model::Checkpoint::Open(dir),
      StatusIs(absl::StatusCode::kNotFound, AllOf(HasSubstr("model.safetensors"), HasSubstr(dir))));
}

TEST(CheckpointTest, ViewsOutliveTheCheckpoint) {
  const std::string dir = ::tpserve::testing::MakeTempDir();
  ASSERT_OK(
      tools::WriteSafetensors(dir + "/model.safetensors", {Tensor("w", DType::kF32, {4, 2}, 5)}));
  MappedTensorView rows;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<model::Checkpoint> ckpt, model::Checkpoint::Open(dir));
    ASSERT_OK_AND_ASSIGN(rows, RowSlice(*ckpt, "w", 1, 3));
  }
  const std::vector<float> want = ::tpserve::testing::RandomFloats(8, 5);
  EXPECT_EQ(rows.view.shape, (ops::Shape{2, 2}));
  EXPECT_EQ(rows.view.As<const float>()[0], want[2]);
  EXPECT_EQ(rows.view.As<const float>()[3], want[5]);
}

// Checkpoints written by transformers (tests/golden, made by tools/golden) hold exactly the
// tensors ListQwen35Tensors derives from their config, with the same shapes.
TEST(CheckpointTest, GoldenCheckpointsMatchTheTensorList) {
  int checked = 0;
  for (const char* name : {"tiny_r1_tied", "tiny_r2_untied", "tiny_r3_bf16"}) {
    SCOPED_TRACE(name);
    const std::string dir = ::tpserve::testing::GoldenModelDir(name);
    if (!std::ifstream(dir + "/config.json")) continue;  // fixtures not generated here
    ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::LoadQwen35Config(dir));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<model::Checkpoint> ckpt, model::Checkpoint::Open(dir));
    const std::vector<model::TensorDecl> want =
        model::ListQwen35Tensors(spec, /*include_vision=*/true);
    EXPECT_EQ(ckpt->num_tensors(), want.size());
    for (const model::TensorDecl& t : want) {
      ASSERT_OK_AND_ASSIGN(model::TensorInfo info, ckpt->Find(t.name));
      EXPECT_EQ(info.shape, t.shape) << t.name;
    }
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no golden fixtures in this checkout";
}

// ---- slices: every source dtype, every destination dtype ----

class SliceTest : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    ASSERT_OK(tools::WriteSafetensors(
        dir_ + "/model.safetensors",
        {Tensor("m", GetParam(), {6, 10}, 11), Tensor("t", GetParam(), {4, 3, 5}, 12),
         Tensor("v", GetParam(), {7}, 13)}));
    ASSERT_OK_AND_ASSIGN(ckpt_, model::Checkpoint::Open(dir_));
  }
  // The stored values (already rounded to the source dtype) as f32.
  std::vector<float> Stored(int64_t n, uint64_t seed) {
    return Decode(Encode(::tpserve::testing::RandomFloats(n, seed), GetParam()).data(), GetParam(),
                  static_cast<size_t>(n));
  }
  // Expected values after conversion to `dst`.
  static std::vector<float> As(const std::vector<float>& v, DType dst) {
    return Decode(Encode(v, dst).data(), dst, v.size());
  }

  std::string dir_ = ::tpserve::testing::MakeTempDir();
  std::unique_ptr<model::Checkpoint> ckpt_;
};

TEST_P(SliceTest, RowSliceIsZeroCopy) {
  const std::vector<float> m = Stored(60, 11);
  ASSERT_OK_AND_ASSIGN(model::TensorInfo info, ckpt_->Find("m"));
  ASSERT_OK_AND_ASSIGN(MappedTensorView rows, RowSlice(*ckpt_, "m", 2, 5));
  EXPECT_EQ(rows.view.dtype, GetParam());
  EXPECT_EQ(rows.view.shape, (ops::Shape{3, 10}));
  EXPECT_EQ(rows.view.data, info.data + 2 * 10 * DTypeSize(GetParam()));
  EXPECT_THAT(Decode(rows.view.data, GetParam(), 30),
              ::testing::ElementsAreArray(m.begin() + 20, m.begin() + 50));
  ASSERT_OK_AND_ASSIGN(MappedTensorView t, RowSlice(*ckpt_, "t", 3, 4));
  EXPECT_EQ(t.view.shape, (ops::Shape{1, 3, 5}));
}

TEST_P(SliceTest, ColumnSliceWithConversion) {
  const std::vector<float> m = Stored(60, 11);
  for (DType dst : {DType::kF32, DType::kBF16, DType::kF16}) {
    SCOPED_TRACE(std::string(DTypeName(dst)));
    std::vector<std::byte> out(6 * 4 * DTypeSize(dst));
    ASSERT_OK(ckpt_->CopyColumnSlice("m", 3, 7, dst, out.data(), out.size()));
    std::vector<float> want;
    for (int r = 0; r < 6; ++r) {
      for (int c = 3; c < 7; ++c) want.push_back(m[static_cast<size_t>(r * 10 + c)]);
    }
    EXPECT_THAT(Decode(out.data(), dst, want.size()), ::testing::ElementsAreArray(As(want, dst)));
  }
}

TEST_P(SliceTest, GeneralSliceAlongEachDim) {
  const std::vector<float> t = Stored(60, 12);  // [4, 3, 5]
  auto at = [&t](int i, int j, int k) { return t[static_cast<size_t>((i * 3 + j) * 5 + k)]; };
  std::vector<float> out(4 * 3 * 5);
  // dim 1, [1, 3): [4, 2, 5]
  ASSERT_OK(ckpt_->CopySlice("t", 1, 1, 3, DType::kF32, out.data(), 4 * 2 * 5 * sizeof(float)));
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 5; ++k)
        EXPECT_EQ(out[static_cast<size_t>((i * 2 + j) * 5 + k)], at(i, j + 1, k));
  // dim 2, [4, 5): [4, 3, 1]
  ASSERT_OK(ckpt_->CopySlice("t", 2, 4, 5, DType::kF32, out.data(), 12 * sizeof(float)));
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(out[static_cast<size_t>(i * 3 + j)], at(i, j, 4));
  // dim 0 equals a row slice; an empty slice copies nothing.
  ASSERT_OK(ckpt_->CopySlice("t", 0, 1, 2, DType::kF32, out.data(), 15 * sizeof(float)));
  for (int k = 0; k < 15; ++k)
    EXPECT_EQ(out[static_cast<size_t>(k)], t[static_cast<size_t>(15 + k)]);
  ASSERT_OK(ckpt_->CopySlice("t", 1, 2, 2, DType::kF32, out.data(), 0));
  // Same-dtype copy is bit exact.
  std::vector<std::byte> raw(7 * DTypeSize(GetParam()));
  ASSERT_OK(ckpt_->CopySlice("v", 0, 0, 7, GetParam(), raw.data(), raw.size()));
  ASSERT_OK_AND_ASSIGN(model::TensorInfo v, ckpt_->Find("v"));
  EXPECT_EQ(std::memcmp(raw.data(), v.data, raw.size()), 0);
}

TEST_P(SliceTest, OutOfRangeAndMisuse) {
  float out[64];
  EXPECT_THAT(RowSlice(*ckpt_, "m", 4, 7), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("slice [4, 7) of dim 0 is out of "
                                                              "range [0, 6]")));
  EXPECT_THAT(RowSlice(*ckpt_, "m", -1, 2),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(RowSlice(*ckpt_, "m", 3, 2),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(ckpt_->CopyColumnSlice("m", 8, 11, DType::kF32, out, 6 * 3 * 4),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("of dim 1 is out of range")));
  EXPECT_THAT(ckpt_->CopyColumnSlice("t", 0, 1, DType::kF32, out, sizeof(out)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs a 2-D tensor")));
  EXPECT_THAT(ckpt_->CopySlice("t", 3, 0, 1, DType::kF32, out, sizeof(out)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dim 3 is out of range")));
  EXPECT_THAT(
      ckpt_->CopySlice("m", 0, 0, 1, DType::kF32, out, 12),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("destination holds 12 bytes")));
  EXPECT_THAT(ckpt_->CopySlice("m", 0, 0, 1, DType::kI32, out, 40),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot convert to i32")));
  EXPECT_THAT(RowSlice(*ckpt_, "nope", 0, 1), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

INSTANTIATE_TEST_SUITE_P(SourceDTypes, SliceTest,
                         ::testing::Values(DType::kF32, DType::kBF16, DType::kF16),
                         [](const ::testing::TestParamInfo<DType>& p) {
                           return std::string(DTypeName(p.param));
                         });

// A row slice copy reads only the slice's pages: every other page of the tensor is PROT_NONE.
TEST(SliceTouchTest, RowCopyReadsOnlyItsPages) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const int64_t cols = static_cast<int64_t>(page / sizeof(float));  // one row per page
  const int64_t rows = 16;
  void* mem =
      ::mmap(nullptr, page * rows, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* f = static_cast<float*>(mem);
  for (int64_t i = 0; i < rows * cols; ++i) f[i] = static_cast<float>(i);
  ASSERT_EQ(::mprotect(mem, page * 5, PROT_NONE), 0);  // rows 0..4
  ASSERT_EQ(::mprotect(static_cast<std::byte*>(mem) + page * 8, page * 8, PROT_NONE), 0);  // 8..15
  model::TensorInfo info;
  info.name = "guarded";
  info.raw_dtype = "F32";
  info.dtype = DType::kF32;
  info.shape = {rows, cols};
  info.data = static_cast<const std::byte*>(mem);
  info.byte_size = page * rows;
  std::vector<uint16_t> out(static_cast<size_t>(3 * cols));
  ASSERT_OK(model::CopyTensorSlice(info, 0, 5, 8, DType::kBF16, out.data(), out.size() * 2));
  EXPECT_EQ(Bf16ToF32(out[0]), static_cast<float>(5 * cols));
  ::munmap(mem, page * rows);
}

// ---- writer ----

TEST(SafetensorsWriterTest, HeaderIsPaddedOrderedAndContiguous) {
  size_t data_bytes = 0;
  ASSERT_OK_AND_ASSIGN(std::string header, tools::SafetensorsWriter::BuildHeader(
                                               {{"z", "F32", {2}}, {"a", "BF16", {3}}},
                                               {{"format", "pt"}}, &data_bytes));
  EXPECT_EQ(header.size() % 8, 0u);
  EXPECT_EQ(data_bytes, 14u);
  EXPECT_LT(header.find("__metadata__"), header.find("\"z\""));
  EXPECT_LT(header.find("\"z\""), header.find("\"a\""));
  EXPECT_THAT(header, HasSubstr(R"("data_offsets":[0,8])"));
  EXPECT_THAT(header, HasSubstr(R"("data_offsets":[8,14])"));
}

TEST(SafetensorsWriterTest, StreamsInChunksAndChecksCounts) {
  const std::string path = ::tpserve::testing::MakeTempDir() + "/w.safetensors";
  ASSERT_OK_AND_ASSIGN(
      auto w, tools::SafetensorsWriter::Create(path, {{"a", "U8", {3}}, {"b", "U8", {2}}}, {}));
  EXPECT_EQ(w->data_bytes(), 5u);
  EXPECT_THAT(w->Finish(), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("0 of 5")));
  ASSERT_OK(w->Write("ab", 2));
  ASSERT_OK(w->Write("cde", 3));  // spans both tensors
  EXPECT_THAT(w->Write("f", 1), StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  ASSERT_OK(w->Finish());
  ASSERT_OK_AND_ASSIGN(auto file, model::SafetensorsFile::Open(path));
  ASSERT_OK_AND_ASSIGN(model::TensorInfo b, file->Find("b"));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data), 2), "de");
  EXPECT_EQ((file->file_size() - 8 - 5) % 8, 0u);
}

TEST(SafetensorsWriterTest, RejectsBadDeclarations) {
  const std::string path = ::tpserve::testing::MakeTempDir() + "/w.safetensors";
  EXPECT_THAT(tools::SafetensorsWriter::Create(path, {{"a", "Q4", {1}}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown dtype Q4")));
  EXPECT_THAT(tools::SafetensorsWriter::Create(path, {{"a", "F32", {1}}, {"a", "F32", {1}}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("repeated")));
  EXPECT_THAT(tools::SafetensorsWriter::Create(path, {{"a", "F32", {-1}}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad shape")));
  EXPECT_THAT(tools::WriteSafetensors(path, {{"a", "F32", {2}, "abc"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has 3 bytes, needs 8")));
  EXPECT_THAT(tools::SafetensorsWriter::Create("/nonexistent-dir/x.safetensors", {}, {}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("cannot create")));
}

}  // namespace
}  // namespace tpserve::shard
