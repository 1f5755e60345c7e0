#include "shard/qwen35_model.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "model/kv_dtype.h"
#include "ops/base/flags.h"
#include "ops/base/status_macros.h"
#include "shard/layers/linear.h"
#include "shard/shard_plan.h"

namespace tpserve::shard {
namespace {}  // namespace

absl::StatusOr<VisionParallelism> ParseVisionParallelism(std::string_view text,
                                                         std::string_view field) {
  if (text.empty() || text == "auto") return VisionParallelism::kAuto;
  if (text == "tensor") return VisionParallelism::kTensorParallel;
  if (text == "data") return VisionParallelism::kDataParallel;
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(field), " must be auto, tensor or data, got ", EchoValue(text)));
}

std::string_view VisionParallelismName(VisionParallelism parallelism) {
  switch (parallelism) {
    case VisionParallelism::kTensorParallel:
      return "tensor";
    case VisionParallelism::kDataParallel:
      return "data";
    case VisionParallelism::kAuto:
      break;
  }
  return "auto";
}

absl::StatusOr<int> ResolveVisionTpSize(const model::Qwen35Spec& spec, int tp_size,
                                        VisionParallelism parallelism) {
  if (!spec.vision.has_value() || tp_size == 1) return 1;
  switch (parallelism) {
    case VisionParallelism::kDataParallel:
      return 1;
    case VisionParallelism::kTensorParallel:
      TPS_RETURN_IF_ERROR_CTX(VisionTensorParallelStatus(*spec.vision, tp_size),
                              "tensor-parallel vision tower");
      return tp_size;
    case VisionParallelism::kAuto:
      break;
  }
  return VisionTensorParallelStatus(*spec.vision, tp_size).ok() ? tp_size : 1;
}

Qwen35Model::Qwen35Model(const model::Qwen35Spec& spec, ModelWeights weights, ops::Backend& backend,
                         const model::ParallelLayout& layout, const ModelOptions& options)
    : spec_(spec),
      weights_(std::move(weights)),
      backend_(backend),
      layout_(layout),
      options_(options) {}

absl::StatusOr<std::unique_ptr<Qwen35Model>> Qwen35Model::Create(
    const model::Qwen35Spec& spec, ModelWeights weights, ops::Backend& backend,
    const model::ParallelLayout& layout, const ModelOptions& options) {
  if (options.max_tokens_per_step <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_tokens_per_step must be > 0, got ", options.max_tokens_per_step));
  }
  if (static_cast<int64_t>(weights.layers.size()) != spec.text.num_hidden_layers) {
    return absl::InvalidArgumentError(absl::StrCat("weights have ", weights.layers.size(),
                                                   " layers, config num_hidden_layers is ",
                                                   spec.text.num_hidden_layers));
  }
  std::unique_ptr<Qwen35Model> model(
      new Qwen35Model(spec, std::move(weights), backend, layout, options));
  if (model->options_.max_logit_rows <= 0) {
    model->options_.max_logit_rows = model->options_.max_tokens_per_step;
  }
  TPS_RETURN_IF_ERROR(model->Build());
  return model;
}

absl::Status Qwen35Model::Build() {
  const model::TextSpec& t = spec_.text;
  const int tp = layout_.tp_size;
  TPS_RETURN_IF_ERROR(layout_.Validate());
  // The divisibility rules of the split are the shard plan's.
  TPS_RETURN_IF_ERROR(ShardPlan::Make(spec_, tp).status());

  FullAttentionDims fa;
  fa.hidden = t.hidden_size;
  fa.heads_local = t.num_heads / tp;
  fa.kv_heads_local = t.num_kv_heads >= tp ? t.num_kv_heads / tp : 1;
  fa.head_dim = t.head_dim;
  fa.rotary_dim = t.rope.rotary_dim;
  fa.rope_theta = static_cast<float>(t.rope.rope_theta);
  for (int i = 0; i < 3; ++i)
    fa.mrope_sections[static_cast<size_t>(i)] =
        static_cast<int32_t>(t.rope.mrope_section[static_cast<size_t>(i)]);
  fa.mrope_interleaved = t.rope.mrope_interleaved;
  fa.eps = static_cast<float>(t.rms_norm_eps);

  GatedDeltaNetDims dn;
  dn.hidden = t.hidden_size;
  dn.k_heads_local = t.num_k_heads / tp;
  dn.v_heads_local = t.num_v_heads / tp;
  dn.k_head_dim = t.head_k_dim;
  dn.v_head_dim = t.head_v_dim;
  dn.conv_kernel = t.conv_kernel_size;
  dn.eps = static_cast<float>(t.rms_norm_eps);
  dn.chunk_size = options_.delta_net_chunk_size;

  int full = 0, linear = 0;
  for (size_t i = 0; i < weights_.layers.size(); ++i) {
    const LayerWeights& w = weights_.layers[i];
    DecoderLayer layer;
    layer.kind = w.kind;
    layer.input_norm = w.input_norm;
    layer.post_norm = w.post_norm;
    if (w.kind == model::LayerKind::kFullAttention) {
      layer.attention = std::make_unique<FullAttentionLayer>(fa, w.attention, full++);
    } else {
      layer.delta_net = std::make_unique<GatedDeltaNetLayer>(dn, w.delta_net, linear++);
    }
    layer.mlp = std::make_unique<MlpLayer>(w.mlp);
    layers_.push_back(std::move(layer));
  }

  SequenceMemoryConfig mc;
  mc.max_slots = options_.max_slots;
  mc.max_context = options_.max_context;
  mc.kv_block_size = options_.kv_block_size;
  mc.num_kv_blocks = options_.num_kv_blocks;
  mc.kv_dtype = model::ResolveKvDType(options_.kv_dtype, weights_.weight_dtype);
  mc.num_full_layers = full;
  mc.kv_heads = fa.kv_heads_local;
  mc.head_dim = fa.head_dim;
  mc.num_linear_layers = linear;
  mc.v_heads = dn.v_heads_local;
  mc.k_head_dim = dn.k_head_dim;
  mc.v_head_dim = dn.v_head_dim;
  mc.conv_channels = dn.conv_channels_local();
  mc.conv_kernel = dn.conv_kernel;
  TPS_ASSIGN_OR_RETURN(memory_, SequenceMemory::Create(backend_, mc));
  if (weights_.vision.has_value()) {
    if (!spec_.vision.has_value()) {
      return absl::InvalidArgumentError(
          "vision weights were loaded for a config without vision_config");
    }
    TPS_ASSIGN_OR_RETURN(std::unique_ptr<vision::VisionTower> tower,
                         vision::VisionTower::Create(*spec_.vision, *weights_.vision, backend_));
    vision::ImageEncoderOptions eo;
    eo.preprocess = options_.image_preprocess;
    eo.limits = options_.image_limits;
    eo.rank = layout_.tp_rank;
    eo.world_size = layout_.tp_size;
    TPS_ASSIGN_OR_RETURN(image_encoder_, vision::ImageEncoder::Create(std::move(tower), eo));
  }
  return AllocateWorkspace();
}

absl::Status Qwen35Model::AllocateWorkspace() {
  const model::TextSpec& t = spec_.text;
  const int tp = layout_.tp_size;
  const int64_t n = options_.max_tokens_per_step;
  const int64_t heads = t.num_heads / tp;
  const int64_t kv_heads = t.num_kv_heads >= tp ? t.num_kv_heads / tp : 1;
  const int64_t k_heads = t.num_k_heads / tp, v_heads = t.num_v_heads / tp;
  const int64_t value_dim = v_heads * t.head_v_dim;
  const int64_t channels = 2 * k_heads * t.head_k_dim + value_dim;
  const int64_t inter = t.intermediate_size / tp;
  const int64_t vocab_local = t.vocab_size / tp;

  auto alloc = [&](DType dtype, ops::Shape shape, ops::TensorView* view) -> absl::Status {
    TPS_ASSIGN_OR_RETURN(
        ops::DeviceBuffer buf,
        backend_.Allocate(static_cast<size_t>(shape.num_elements()) * DTypeSize(dtype),
                          ops::BufferUsage::kActivations));
    *view = buf.View(dtype, shape);
    buffers_.push_back(std::move(buf));
    return absl::OkStatus();
  };
  const DType f32 = DType::kF32;
  ws_.max_tokens = n;
  TPS_RETURN_IF_ERROR(alloc(f32, {n, t.hidden_size}, &ws_.hidden));
  TPS_RETURN_IF_ERROR(alloc(f32, {n, t.hidden_size}, &ws_.normed));
  TPS_RETURN_IF_ERROR(alloc(f32, {n, t.hidden_size}, &ws_.mixer_out));
  if (memory_->config().num_full_layers > 0) {
    TPS_RETURN_IF_ERROR(alloc(f32, {n, heads * 2 * t.head_dim}, &ws_.q2));
    TPS_RETURN_IF_ERROR(alloc(f32, {n, kv_heads * t.head_dim}, &ws_.k));
    TPS_RETURN_IF_ERROR(alloc(f32, {n, kv_heads * t.head_dim}, &ws_.v));
    TPS_RETURN_IF_ERROR(alloc(f32, {n, heads * t.head_dim}, &ws_.attn));
  }
  if (memory_->config().num_linear_layers > 0) {
    TPS_RETURN_IF_ERROR(alloc(f32, {n, channels}, &ws_.mixed));
    TPS_RETURN_IF_ERROR(alloc(f32, {n, channels}, &ws_.conv_out));
    TPS_RETURN_IF_ERROR(alloc(f32, {n, value_dim}, &ws_.z));
    TPS_RETURN_IF_ERROR(alloc(f32, {n, v_heads}, &ws_.a));
    TPS_RETURN_IF_ERROR(alloc(f32, {n, v_heads}, &ws_.b));
    TPS_RETURN_IF_ERROR(alloc(f32, {n, v_heads}, &ws_.g));
    TPS_RETURN_IF_ERROR(alloc(f32, {n, v_heads}, &ws_.beta));
    TPS_RETURN_IF_ERROR(alloc(f32, {n, value_dim}, &ws_.core));
  }
  TPS_RETURN_IF_ERROR(alloc(f32, {n, inter}, &ws_.gate));
  TPS_RETURN_IF_ERROR(alloc(f32, {n, inter}, &ws_.up));
  const int64_t rows = options_.max_logit_rows;
  TPS_RETURN_IF_ERROR(alloc(f32, {rows, t.hidden_size}, &logits_in_));
  TPS_RETURN_IF_ERROR(alloc(f32, {rows, vocab_local}, &logits_));
  if (tp > 1) {
    TPS_RETURN_IF_ERROR(alloc(f32, {tp * rows, vocab_local}, &gathered_));
    full_logits_.resize(static_cast<size_t>(rows * t.vocab_size));
  }

  const int64_t max_seqs = std::min<int64_t>(n, options_.max_slots);
  const int64_t max_blocks = memory_->max_blocks_per_seq();
  const DType i32 = DType::kI32;
  TPS_RETURN_IF_ERROR(alloc(i32, {n}, &ids_dev_));
  TPS_RETURN_IF_ERROR(alloc(i32, {n, 3}, &positions_dev_));
  TPS_RETURN_IF_ERROR(alloc(i32, {max_seqs + 1}, &seq_starts_dev_));
  TPS_RETURN_IF_ERROR(alloc(i32, {max_seqs}, &slots_dev_));
  TPS_RETURN_IF_ERROR(alloc(i32, {max_seqs}, &context_lens_dev_));
  TPS_RETURN_IF_ERROR(alloc(i32, {max_seqs, max_blocks}, &block_tables_dev_));
  TPS_RETURN_IF_ERROR(alloc(i32, {n}, &slot_mapping_dev_));
  return absl::OkStatus();
}

absl::Status Qwen35Model::set_communicator(comm::Communicator* comm) {
  if (comm != nullptr &&
      (comm->world_size() != layout_.tp_size || comm->rank() != layout_.tp_rank)) {
    return absl::InvalidArgumentError(absl::StrCat("communicator is rank ", comm->rank(), " of ",
                                                   comm->world_size(), ", the model shard is rank ",
                                                   layout_.tp_rank, " of ", layout_.tp_size));
  }
  comm_ = comm;
  if (image_encoder_ != nullptr) return image_encoder_->set_communicator(comm);
  return absl::OkStatus();
}

void Qwen35Model::set_delta_net_chunk_size(int64_t chunk_size) {
  for (auto& layer : layers_) {
    if (layer.delta_net) layer.delta_net->set_chunk_size(chunk_size);
  }
}

absl::Status Qwen35Model::PrepareStep(const StepPlan& plan, StepContext& ctx,
                                      std::vector<StepLogits::Range>& ranges, int64_t& logit_rows) {
  const int64_t n = plan.num_tokens();
  const int64_t num_seqs = static_cast<int64_t>(plan.sequences.size());
  if (n == 0) return absl::InvalidArgumentError("step plan has a sequence without tokens");
  if (n > options_.max_tokens_per_step) {
    return absl::InvalidArgumentError(absl::StrCat(
        "step has ", n, " tokens, above max_tokens_per_step ", options_.max_tokens_per_step));
  }
  if (num_seqs > options_.max_slots) {
    return absl::InvalidArgumentError(
        absl::StrCat("step has ", num_seqs, " sequences, above max_slots ", options_.max_slots));
  }
  const int64_t vocab = spec_.text.vocab_size;
  const int32_t bs = options_.kv_block_size;
  const int32_t max_blocks = memory_->max_blocks_per_seq();
  ids_.assign(static_cast<size_t>(n), 0);
  positions_.assign(static_cast<size_t>(n) * 3, 0);
  seq_starts_.assign(static_cast<size_t>(num_seqs) + 1, 0);
  slots_.assign(static_cast<size_t>(num_seqs), 0);
  context_lens_.assign(static_cast<size_t>(num_seqs), 0);
  block_tables_.assign(static_cast<size_t>(num_seqs) * static_cast<size_t>(max_blocks), 0);
  slot_mapping_.assign(static_cast<size_t>(n), 0);
  ranges.assign(static_cast<size_t>(num_seqs), {});
  logit_rows = 0;

  std::vector<bool> seen(static_cast<size_t>(options_.max_slots), false);
  int64_t t = 0;
  for (int64_t s = 0; s < num_seqs; ++s) {
    const SequenceStep& seq = plan.sequences[static_cast<size_t>(s)];
    const int32_t len = static_cast<int32_t>(seq.token_ids.size());
    if (!memory_->in_use(seq.slot)) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence ", s, ": slot ", seq.slot, " is not acquired"));
    }
    if (seen[static_cast<size_t>(seq.slot)]) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence ", s, ": slot ", seq.slot, " appears twice in one step"));
    }
    seen[static_cast<size_t>(seq.slot)] = true;
    if (len == 0) {
      return absl::InvalidArgumentError(absl::StrCat("sequence ", s, " has no tokens"));
    }
    if (seq.start_index != memory_->length(seq.slot)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "sequence ", s, ": start_index ", seq.start_index, " but slot ", seq.slot, " holds ",
          memory_->length(seq.slot), " tokens (state can only be extended)"));
    }
    if (!seq.positions.empty() && static_cast<int32_t>(seq.positions.size()) != len) {
      return absl::InvalidArgumentError(absl::StrCat("sequence ", s, ": ", seq.positions.size(),
                                                     " positions for ", len, " tokens"));
    }
    TPS_RETURN_IF_ERROR_CTX(memory_->Reserve(seq.slot, seq.start_index + len), "sequence ", s);
    const int32_t* table = memory_->block_table(seq.slot);
    std::memcpy(&block_tables_[static_cast<size_t>(s) * static_cast<size_t>(max_blocks)], table,
                static_cast<size_t>(max_blocks) * sizeof(int32_t));
    seq_starts_[static_cast<size_t>(s)] = static_cast<int32_t>(t);
    slots_[static_cast<size_t>(s)] = seq.slot;
    context_lens_[static_cast<size_t>(s)] = seq.start_index + len;
    for (int32_t i = 0; i < len; ++i, ++t) {
      const int32_t id = seq.token_ids[static_cast<size_t>(i)];
      if (id < 0 || id >= vocab) {
        return absl::InvalidArgumentError(
            absl::StrCat("sequence ", s, ": token id ", id, " at index ", i,
                         " is outside the vocabulary [0, ", vocab, ")"));
      }
      ids_[static_cast<size_t>(t)] = id;
      for (int a = 0; a < 3; ++a) {
        positions_[static_cast<size_t>(t) * 3 + static_cast<size_t>(a)] =
            seq.positions.empty() ? seq.start_index + i + seq.position_offset
                                  : seq.positions[static_cast<size_t>(i)][static_cast<size_t>(a)];
      }
      const int32_t index = seq.start_index + i;
      slot_mapping_[static_cast<size_t>(t)] = table[index / bs] * bs + index % bs;
    }
    const int64_t rows = seq.logits == LogitsMode::kAll    ? len
                         : seq.logits == LogitsMode::kLast ? 1
                                                           : 0;
    ranges[static_cast<size_t>(s)] = {logit_rows, rows};
    logit_rows += rows;
  }
  seq_starts_[static_cast<size_t>(num_seqs)] = static_cast<int32_t>(n);
  if (logit_rows > options_.max_logit_rows) {
    return absl::InvalidArgumentError(absl::StrCat("step asks for ", logit_rows,
                                                   " logit rows, above max_logit_rows ",
                                                   options_.max_logit_rows));
  }

  auto upload = [&](const std::vector<int32_t>& host, const ops::TensorView& dev,
                    ops::Shape shape) -> absl::StatusOr<ops::ConstTensorView> {
    ops::TensorView view(dev.data, DType::kI32, shape);
    TPS_RETURN_IF_ERROR(backend_.Upload(
        absl::MakeConstSpan(reinterpret_cast<const std::byte*>(host.data()), host.size() * 4),
        view));
    return ops::ConstTensorView(view);
  };
  TPS_ASSIGN_OR_RETURN(ctx.token_ids, upload(ids_, ids_dev_, {n}));
  TPS_ASSIGN_OR_RETURN(ctx.positions, upload(positions_, positions_dev_, {n, 3}));
  TPS_ASSIGN_OR_RETURN(ctx.seq_starts, upload(seq_starts_, seq_starts_dev_, {num_seqs + 1}));
  TPS_ASSIGN_OR_RETURN(ctx.slots, upload(slots_, slots_dev_, {num_seqs}));
  TPS_ASSIGN_OR_RETURN(ctx.context_lens, upload(context_lens_, context_lens_dev_, {num_seqs}));
  TPS_ASSIGN_OR_RETURN(ctx.block_tables,
                       upload(block_tables_, block_tables_dev_, {num_seqs, max_blocks}));
  TPS_ASSIGN_OR_RETURN(ctx.slot_mapping, upload(slot_mapping_, slot_mapping_dev_, {n}));
  ctx.num_tokens = n;
  ctx.num_seqs = num_seqs;
  ctx.kv_block_size = bs;
  if (comm_ != nullptr && layout_.tp_size > 1) {
    comm::Communicator* comm = comm_;
    ctx.all_reduce = [comm](ops::TensorView x) { return comm->AllReduce(x, comm::ReduceOp::kSum); };
  }
  return absl::OkStatus();
}

absl::Status Qwen35Model::RunLayers(const StepPlan& plan, const StepContext& ctx) {
  const int64_t n = ctx.num_tokens;
  const float eps = static_cast<float>(spec_.text.rms_norm_eps);
  ops::TensorView hidden = Rows(ws_.hidden, n);
  ops::TensorView normed = Rows(ws_.normed, n);
  ops::TensorView mixer_out = Rows(ws_.mixer_out, n);

  ops::EmbeddingArgs embed{.table = weights_.embed_tokens,
                           .ids = ctx.token_ids,
                           .out = hidden,
                           .vocab_begin = weights_.vocab_begin};
  TPS_RETURN_IF_ERROR(backend_.Embedding(embed));
  TPS_RETURN_IF_ERROR(ctx.AllReduce(hidden));
  TPS_RETURN_IF_ERROR(SpliceImages(plan, hidden));

  for (size_t i = 0; i < layers_.size(); ++i) {
    const DecoderLayer& layer = layers_[i];
    absl::Status s = [&]() -> absl::Status {
      ops::RmsNormArgs in_norm{.x = hidden, .weight = layer.input_norm, .out = normed, .eps = eps};
      TPS_RETURN_IF_ERROR(backend_.RmsNorm(in_norm));
      if (layer.kind == model::LayerKind::kFullAttention) {
        TPS_RETURN_IF_ERROR(
            layer.attention->Forward(backend_, ctx, *memory_, ws_, normed, mixer_out));
      } else {
        TPS_RETURN_IF_ERROR(
            layer.delta_net->Forward(backend_, ctx, *memory_, ws_, normed, mixer_out));
      }
      TPS_RETURN_IF_ERROR(ctx.AllReduce(mixer_out));
      TPS_RETURN_IF_ERROR(backend_.Add({.a = hidden, .b = mixer_out, .out = hidden}));
      ops::RmsNormArgs post_norm{.x = hidden, .weight = layer.post_norm, .out = normed, .eps = eps};
      TPS_RETURN_IF_ERROR(backend_.RmsNorm(post_norm));
      TPS_RETURN_IF_ERROR(layer.mlp->Forward(backend_, ctx, ws_, normed, mixer_out));
      TPS_RETURN_IF_ERROR(ctx.AllReduce(mixer_out));
      return backend_.Add({.a = hidden, .b = mixer_out, .out = hidden});
    }();
    if (!s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("layer ", i, " (", std::string(model::LayerKindName(layer.kind)),
                                 "): ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status Qwen35Model::ComputeLogits(const StepPlan& plan,
                                        const std::vector<StepLogits::Range>& ranges,
                                        int64_t logit_rows) {
  if (logit_rows == 0) return absl::OkStatus();
  const float eps = static_cast<float>(spec_.text.rms_norm_eps);
  // The final norm runs only on the rows that need logits: per sequence, its last token or all.
  for (size_t s = 0; s < plan.sequences.size(); ++s) {
    const StepLogits::Range& r = ranges[s];
    if (r.count == 0) continue;
    const int64_t end = seq_starts_[s + 1];
    ops::RmsNormArgs norm{.x = ws_.hidden.Slice(0, end - r.count, end),
                          .weight = weights_.final_norm,
                          .out = logits_in_.Slice(0, r.begin, r.begin + r.count),
                          .eps = eps};
    TPS_RETURN_IF_ERROR(backend_.RmsNorm(norm));
  }
  ops::MatMulArgs head{.x = logits_in_.Slice(0, 0, logit_rows),
                       .w = weights_.lm_head,
                       .out = logits_.Slice(0, 0, logit_rows)};
  TPS_RETURN_IF_ERROR(backend_.MatMul(head));
  if (layout_.tp_size == 1) return absl::OkStatus();
  // Vocabulary-parallel head: gather [tp, rows, vocab_local] and lay it out as [rows, vocab].
  // TODO(#4): sample from per-rank top-k candidates instead of gathering the whole vocabulary.
  if (comm_ == nullptr) return absl::FailedPreconditionError("sharded model has no communicator");
  const int tp = layout_.tp_size;
  const int64_t local = logits_.dim(1);
  ops::TensorView gathered = gathered_.Slice(0, 0, tp * logit_rows);
  TPS_RETURN_IF_ERROR(comm_->AllGather(logits_.Slice(0, 0, logit_rows), gathered));
  TPS_RETURN_IF_ERROR(backend_.Synchronize());
  const float* src = static_cast<const float*>(gathered.data);
  for (int r = 0; r < tp; ++r) {
    for (int64_t row = 0; row < logit_rows; ++row) {
      std::memcpy(&full_logits_[static_cast<size_t>(row * local * tp + r * local)],
                  src + (r * logit_rows + row) * local, static_cast<size_t>(local) * sizeof(float));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<StepLogits> Qwen35Model::Forward(const StepPlan& plan) {
  StepContext ctx;
  StepLogits out;
  int64_t logit_rows = 0;
  for (int32_t slot : plan.release_slots) {
    TPS_RETURN_IF_ERROR_CTX(memory_->Release(slot), "step ", plan.step_id, " release");
    DropCachedImages(slot);
  }
  for (const SequenceStep& seq : plan.sequences) {
    if (seq.new_sequence) {
      TPS_RETURN_IF_ERROR_CTX(memory_->Acquire(seq.slot), "step ", plan.step_id, " new sequence");
      DropCachedImages(seq.slot);
    }
  }
  if (plan.sequences.empty()) {
    out.vocab_ = spec_.text.vocab_size;
    return out;
  }
  TPS_RETURN_IF_ERROR_CTX(PrepareStep(plan, ctx, out.ranges_, logit_rows), "step ", plan.step_id);
  TPS_RETURN_IF_ERROR_CTX(RunLayers(plan, ctx), "step ", plan.step_id, " rank ", layout_.tp_rank);
  TPS_RETURN_IF_ERROR_CTX(ComputeLogits(plan, out.ranges_, logit_rows), "step ", plan.step_id,
                          " lm_head");
  TPS_RETURN_IF_ERROR(backend_.Synchronize());
  for (const SequenceStep& seq : plan.sequences) {
    memory_->set_length(seq.slot, seq.start_index + static_cast<int32_t>(seq.token_ids.size()));
  }
  ++steps_;
  out.data_ = layout_.tp_size > 1 ? full_logits_.data() : static_cast<const float*>(logits_.data);
  out.rows_ = logit_rows;
  out.vocab_ = spec_.text.vocab_size;
  return out;
}

}  // namespace tpserve::shard
