// Qwen35Model: one rank's shard of a Qwen3.5 / Qwen3.6 text model, run step by step.
//
// Built from the layer-type list of the config: Gated-DeltaNet layers and gated full-attention
// layers, each followed by a SwiGLU MLP. One Forward() runs one StepPlan: several independent
// sequences, each a prefill chunk or a decode token, in one batch. The model owns the hybrid state
// of every sequence (SequenceMemory): callers acquire a slot per sequence, run steps whose
// start_index equals the slot's length, and release the slot at the end.
//
//   auto model = Qwen35Model::Create(spec, std::move(weights), backend, layout, options);
//   int32_t slot = model->memory().AcquireSlot().value();
//   StepPlan plan; plan.sequences.push_back({.slot = slot, .start_index = 0, .token_ids = prompt});
//   auto logits = model->Forward(plan);   // logits->Row(0): the last prompt token's logits
//
// Tensor parallelism: with tp_size > 1 every rank of the group runs the same plans on its shard
// with a Communicator set; each returns the full logits (gathered across ranks).
//
// Thread-safety: one thread at a time. After a failed Forward() the state of the step's
// sequences is undefined; release them.
#ifndef TPSERVE_SHARD_QWEN35_MODEL_H_
#define TPSERVE_SHARD_QWEN35_MODEL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/model_spec.h"
#include "model/parallel_layout.h"
#include "ops/comm/communicator.h"
#include "ops/core/backend.h"
#include "shard/layers/full_attention.h"
#include "shard/layers/gated_delta_net.h"
#include "shard/layers/mlp.h"
#include "shard/layers/workspace.h"
#include "shard/model_weights.h"
#include "shard/state/sequence_memory.h"
#include "shard/step_context.h"
#include "shard/step_plan.h"
#include "vision/image_encoder.h"
#include "vision/image_limits.h"
#include "vision/preprocess_config.h"

namespace tpserve::shard {

// How the vision tower runs across a tensor-parallel group (it is loaded with the weights).
enum class VisionParallelism : uint8_t {
  kAuto,            // tensor parallel when tp_size splits the tower (VisionTensorParallelStatus)
  kTensorParallel,  // heads and MLP split across ranks; an error when tp_size cannot split them
  kDataParallel,    // every rank holds the whole tower; a step's images are spread across ranks
};

// "auto", "tensor", "data" (the flag and GroupSetup spelling); "" is "auto". InvalidArgument
// naming `field` and the accepted values otherwise.
absl::StatusOr<VisionParallelism> ParseVisionParallelism(std::string_view text,
                                                         std::string_view field);
std::string_view VisionParallelismName(VisionParallelism parallelism);

// The tower split the model will use: tp_size for tensor parallel, 1 for data parallel / one rank.
absl::StatusOr<int> ResolveVisionTpSize(const model::Qwen35Spec& spec, int tp_size,
                                        VisionParallelism parallelism);

struct ModelOptions {
  int32_t max_slots = 1;              // concurrent sequences
  int32_t max_context = 4096;         // tokens per sequence
  int64_t max_tokens_per_step = 512;  // prefill chunk + decode tokens in one step
  int64_t max_logit_rows = 0;         // 0: max_tokens_per_step
  int32_t kv_block_size = 16;
  int64_t num_kv_blocks = 0;          // 0: max_slots full contexts
  std::optional<DType> kv_dtype;      // none: model::ResolveKvDType (f32 weights: f32, else bf16)
  int64_t delta_net_chunk_size = 64;  // 0: token-by-token recurrence even for prefill
  // Images (a model with a vision tower). LoadQwen35Model replaces image_preprocess with
  // model_dir/preprocessor_config.json when the file exists.
  VisionParallelism vision_parallelism = VisionParallelism::kAuto;
  vision::PreprocessConfig image_preprocess;
  vision::ImageLimits image_limits;
};

// Logits of one step. rows() rows of vocab() floats, valid until the next Forward().
class StepLogits {
 public:
  struct Range {
    int64_t begin = 0;  // first row of the sequence
    int64_t count = 0;  // 0 for LogitsMode::kNone
  };

  int64_t rows() const { return rows_; }
  int64_t vocab() const { return vocab_; }
  absl::Span<const float> Row(int64_t r) const {
    return absl::MakeConstSpan(data_ + r * vocab_, static_cast<size_t>(vocab_));
  }
  // The rows of sequence `s` (index into StepPlan::sequences).
  const Range& sequence(size_t s) const { return ranges_[s]; }

 private:
  friend class Qwen35Model;
  const float* data_ = nullptr;
  int64_t rows_ = 0;
  int64_t vocab_ = 0;
  std::vector<Range> ranges_;
};

class Qwen35Model {
 public:
  static absl::StatusOr<std::unique_ptr<Qwen35Model>> Create(const model::Qwen35Spec& spec,
                                                             ModelWeights weights,
                                                             ops::Backend& backend,
                                                             const model::ParallelLayout& layout,
                                                             const ModelOptions& options);

  absl::StatusOr<StepLogits> Forward(const StepPlan& plan);

  SequenceMemory& memory() { return *memory_; }
  const model::Qwen35Spec& spec() const { return spec_; }
  const ModelOptions& options() const { return options_; }
  const ModelWeights& weights() const { return weights_; }
  // The vision tower's encoder; null when the model has none (text-only config or checkpoint).
  vision::ImageEncoder* image_encoder() { return image_encoder_.get(); }
  ops::Backend& backend() { return backend_; }

  // The group's communicator when the model is sharded (tp_size > 1): row-parallel partial sums
  // are all-reduced and the vocabulary-parallel logits all-gathered through it. Not owned.
  absl::Status set_communicator(comm::Communicator* comm);
  // Forces the delta-net rule's chunk size (0 = token-by-token) for every layer; for tests.
  void set_delta_net_chunk_size(int64_t chunk_size);

 private:
  struct DecoderLayer {
    model::LayerKind kind;
    ops::ConstTensorView input_norm, post_norm;
    std::unique_ptr<FullAttentionLayer> attention;
    std::unique_ptr<GatedDeltaNetLayer> delta_net;
    std::unique_ptr<MlpLayer> mlp;
  };

  Qwen35Model(const model::Qwen35Spec& spec, ModelWeights weights, ops::Backend& backend,
              const model::ParallelLayout& layout, const ModelOptions& options);
  absl::Status Build();
  absl::Status AllocateWorkspace();
  absl::Status PrepareStep(const StepPlan& plan, StepContext& ctx,
                           std::vector<StepLogits::Range>& ranges, int64_t& logit_rows);
  absl::Status RunLayers(const StepPlan& plan, const StepContext& ctx);
  // Writes the embeddings of the step's images over their image-pad rows of `hidden` [n, H]
  // (qwen35_model_images.cc).
  absl::Status SpliceImages(const StepPlan& plan, ops::TensorView hidden);
  void DropCachedImages(int32_t slot);
  absl::Status ComputeLogits(const StepPlan& plan, const std::vector<StepLogits::Range>& ranges,
                             int64_t logit_rows);

  model::Qwen35Spec spec_;
  ModelWeights weights_;
  ops::Backend& backend_;
  model::ParallelLayout layout_;
  ModelOptions options_;
  comm::Communicator* comm_ = nullptr;

  std::unique_ptr<SequenceMemory> memory_;
  std::unique_ptr<vision::ImageEncoder> image_encoder_;
  // Embeddings of images whose pad tokens span several prefill chunks, by (slot, first_token),
  // until the chunk holding their last token has run (or the slot is released).
  struct CachedImage {
    std::shared_ptr<const vision::TowerOutput> output;
    size_t index = 0;  // the image's index in `output`
  };
  std::map<std::pair<int32_t, int32_t>, CachedImage> image_cache_;
  std::vector<DecoderLayer> layers_;
  Workspace ws_;
  std::vector<ops::DeviceBuffer> buffers_;
  ops::TensorView logits_in_;       // [max_logit_rows, hidden]
  ops::TensorView logits_;          // [max_logit_rows, vocab_local]
  ops::TensorView gathered_;        // [tp_size * max_logit_rows, vocab_local] (tp_size > 1)
  std::vector<float> full_logits_;  // [max_logit_rows, vocab] host (tp_size > 1)

  // Step metadata (host staging; uploaded to the device views when the backend is not
  // host-visible).
  std::vector<int32_t> ids_, positions_, seq_starts_, slots_, context_lens_, block_tables_,
      slot_mapping_;
  ops::TensorView ids_dev_, positions_dev_, seq_starts_dev_, slots_dev_, context_lens_dev_,
      block_tables_dev_, slot_mapping_dev_;
  uint64_t steps_ = 0;
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_QWEN35_MODEL_H_
