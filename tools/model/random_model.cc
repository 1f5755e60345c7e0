#include "tools/model/random_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "model/tensor_slice.h"
#include "nlohmann/json.hpp"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "tools/model/safetensors_writer.h"

namespace tpserve::tools {
namespace {

constexpr int64_t kChunkElements = int64_t{1} << 20;
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

absl::Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string ShardName(size_t index, size_t count) {
  return absl::StrFormat("model-%05d-of-%05d.safetensors", index + 1, count);
}

absl::Status WriteWeightsFile(const std::string& path, const RandomModelFile& file, DType dtype,
                              uint64_t seed) {
  std::vector<SafetensorsTensorDecl> decls;
  decls.reserve(file.tensors.size());
  for (const model::TensorDecl& t : file.tensors) {
    decls.push_back({t.name, std::string(model::DTypeToSafetensors(dtype)), t.shape});
  }
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsWriter> writer,
                       SafetensorsWriter::Create(path, std::move(decls),
                                                 {{"format", "pt"},
                                                  {"tpserve_random_weights", "true"},
                                                  {"tpserve_seed", absl::StrCat(seed)}}));
  std::vector<float> values(static_cast<size_t>(kChunkElements));
  std::vector<std::byte> bytes(static_cast<size_t>(kChunkElements) * DTypeSize(dtype));
  for (const model::TensorDecl& t : file.tensors) {
    const int64_t n = t.num_elements();
    for (int64_t first = 0; first < n; first += kChunkElements) {
      const int64_t count = std::min(kChunkElements, n - first);
      GenerateRandomValues(t, seed, first, count, values.data());
      TPS_RETURN_IF_ERROR(
          model::ConvertElements(values.data(), DType::kF32, bytes.data(), dtype, count));
      TPS_RETURN_IF_ERROR(
          writer->Write(bytes.data(), static_cast<size_t>(count) * DTypeSize(dtype)));
    }
  }
  return writer->Finish();
}

constexpr char kNotice[] =
    "This directory holds a Qwen3.5-shaped model with RANDOM weights, written by tpserve's\n"
    "random model generator (tools/model/random_model.h). It has the real tensor names and shapes "
    "but\n"
    "was never trained: every output it produces is noise. config.json carries\n"
    "\"tpserve_random_weights\": true so tools can say so. Use it for load, memory, throughput\n"
    "and tensor-parallel tests only.\n";

}  // namespace

void GenerateRandomValues(const model::TensorDecl& tensor, uint64_t seed, int64_t first,
                          int64_t count, float* out) {
  const uint64_t key = Mix64(seed * kGolden ^ Fnv1a(tensor.name));
  float lo = -1.0f;
  float hi = 1.0f;
  bool log_uniform = false;
  switch (tensor.role) {
    case model::TensorRole::kEmbedding:
      break;
    case model::TensorRole::kLinear: {
      const int64_t rows = tensor.shape.empty() ? 1 : tensor.shape[0];
      const int64_t fan_in = rows > 0 ? std::max<int64_t>(1, tensor.num_elements() / rows) : 1;
      hi = static_cast<float>(std::sqrt(3.0 / static_cast<double>(fan_in)));
      lo = -hi;
      break;
    }
    case model::TensorRole::kZeroCentredNorm:
    case model::TensorRole::kDtBias:
      lo = -0.1f;
      hi = 0.1f;
      break;
    case model::TensorRole::kScaleNorm:
      lo = 0.9f;
      hi = 1.1f;
      break;
    case model::TensorRole::kBias:
      lo = -0.05f;
      hi = 0.05f;
      break;
    case model::TensorRole::kALog:
      lo = 1.0f;
      hi = 16.0f;
      log_uniform = true;
      break;
    case model::TensorRole::kConv:
    case model::TensorRole::kPositionEmbedding:
      lo = -0.5f;
      hi = 0.5f;
      break;
  }
  const float scale = (hi - lo) * (1.0f / 16777216.0f);  // 24-bit uniforms
  for (int64_t i = 0; i < count; ++i) {
    const uint64_t e = static_cast<uint64_t>(first + i);
    // One 64-bit draw gives two 24-bit uniforms (elements 2p and 2p + 1).
    const uint64_t x = Mix64(key + (e >> 1) * kGolden);
    const uint32_t bits = static_cast<uint32_t>((e & 1) ? (x >> 8) & 0xFFFFFFu : x >> 40);
    const float v = lo + static_cast<float>(bits) * scale;
    out[i] = log_uniform ? std::log(v) : v;
  }
}

size_t RandomModelPlan::total_bytes() const {
  size_t total = 0;
  for (const RandomModelFile& f : files) total += f.data_bytes;
  return total;
}

int64_t RandomModelPlan::total_params() const {
  int64_t total = 0;
  for (const RandomModelFile& f : files) {
    for (const model::TensorDecl& t : f.tensors) total += t.num_elements();
  }
  return total;
}

absl::StatusOr<RandomModelPlan> PlanRandomQwen35Model(const RandomModelOptions& options) {
  if (options.weight_dtype != DType::kBF16 && options.weight_dtype != DType::kF32 &&
      options.weight_dtype != DType::kF16) {
    return absl::InvalidArgumentError(
        absl::StrCat("random model: weight dtype must be bf16, f16 or f32, got ",
                     std::string(DTypeName(options.weight_dtype))));
  }
  RandomModelPlan plan;
  if (options.spec.has_value()) {
    TPS_RETURN_IF_ERROR_CTX(model::ValidateQwen35Spec(*options.spec), "random model");
    plan.spec = *options.spec;
  } else {
    TPS_ASSIGN_OR_RETURN(plan.spec, model::Qwen35Preset(options.preset));
  }
  model::Qwen35Spec& spec = plan.spec;
  spec.random_weights = true;
  spec.quantization.clear();
  spec.text.dtype = options.weight_dtype == DType::kBF16  ? "bfloat16"
                    : options.weight_dtype == DType::kF16 ? "float16"
                                                          : "float32";
  if (!options.include_vision) spec.vision.reset();
  if (spec.vision.has_value()) spec.language_model_only = false;

  const size_t elem = DTypeSize(options.weight_dtype);
  std::vector<model::TensorDecl> tensors = model::ListQwen35Tensors(spec, spec.vision.has_value());
  RandomModelFile current;
  for (model::TensorDecl& t : tensors) {
    const size_t bytes = static_cast<size_t>(t.num_elements()) * elem;
    if (options.max_shard_bytes > 0 && !current.tensors.empty() &&
        current.data_bytes + bytes > options.max_shard_bytes) {
      plan.files.push_back(std::move(current));
      current = RandomModelFile{};
    }
    current.data_bytes += bytes;
    current.tensors.push_back(std::move(t));
  }
  plan.files.push_back(std::move(current));
  if (options.max_shard_bytes == 0) {
    plan.files[0].file_name = std::string(model::kSingleWeightsFile);
  } else {
    for (size_t i = 0; i < plan.files.size(); ++i) {
      plan.files[i].file_name = ShardName(i, plan.files.size());
    }
  }
  return plan;
}

absl::Status WriteRandomQwen35Model(const RandomModelOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.output_dir.empty()) {
    return absl::InvalidArgumentError("random model: output directory is empty");
  }
  TPS_ASSIGN_OR_RETURN(RandomModelPlan plan, PlanRandomQwen35Model(options));
  const std::string& dir = options.output_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  // A stale single file would shadow a new index (and vice versa a stale index is confusing).
  for (std::string_view stale : {model::kSingleWeightsFile, model::kWeightsIndexFile}) {
    std::filesystem::remove(absl::StrCat(dir, "/", std::string(stale)), ec);
  }

  TPS_RETURN_IF_ERROR(
      WriteTextFile(absl::StrCat(dir, "/config.json"), model::Qwen35SpecToConfigJson(plan.spec)));
  TPS_RETURN_IF_ERROR(WriteTextFile(absl::StrCat(dir, "/NOTICE.txt"), kNotice));
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  for (const RandomModelFile& file : plan.files) {
    TPS_RETURN_IF_ERROR(WriteWeightsFile(absl::StrCat(dir, "/", file.file_name), file,
                                         options.weight_dtype, options.seed));
    for (const model::TensorDecl& t : file.tensors) weight_map[t.name] = file.file_name;
  }
  if (options.max_shard_bytes > 0) {
    nlohmann::ordered_json index = {{"metadata", {{"total_size", plan.total_bytes()}}},
                                    {"weight_map", std::move(weight_map)}};
    TPS_RETURN_IF_ERROR(WriteTextFile(absl::StrCat(dir, "/", std::string(model::kWeightsIndexFile)),
                                      index.dump(2) + "\n"));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  TPS_LOG(kInfo) << "wrote random " << plan.spec.model_type << " model to " << dir << ": "
                 << plan.total_params() << " parameters, " << plan.total_bytes() << " bytes in "
                 << plan.files.size() << " file(s), " << seconds << " s";
  return absl::OkStatus();
}

}  // namespace tpserve::tools
