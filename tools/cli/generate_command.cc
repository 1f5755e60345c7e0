// tpserve generate: load a model, run one prompt, print the output. The prompt is token ids
// (--prompt-ids; prints ids) or text (--prompt; prints text), optionally as one chat turn through
// the Qwen3.5 chat template (--chat, --system, --no-think / --think), with images (--image,
// repeatable) for a model with a vision tower.
//
// Images and placeholders. Each image takes one placeholder in the prompt, expanded here to the
// image's token count (read from its header, vision::PlanImage) exactly as the coordinator does:
//   --chat          the user turn is [image, image, ..., text]: the template writes
//                   <|vision_start|><|image_pad|><|vision_end|> per image.
//   --prompt TEXT   the text must hold one <|image_pad|> per image, in image order.
//   --prompt-ids    the ids must hold the image-pad id (config image_token_id) once per image,
//                   or already expanded to each image's full token count (rows x cols); nothing
//                   else is accepted. vision_start / vision_end ids are the caller's to write.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/tokenizer/chat_template.h"
#include "coordinator/tokenizer/incremental_detokenizer.h"
#include "coordinator/tokenizer/output_parser.h"
#include "coordinator/tokenizer/tokenizer.h"
#include "model/model_spec.h"
#include "nlohmann/json.hpp"
#include "ops/base/flags.h"
#include "ops/base/npy.h"
#include "ops/base/status_macros.h"
#include "ops/core/backend_registry.h"
#include "shard/model_loader.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_flags.h"
#include "tools/model/generator.h"
#include "vision/image_plan.h"
#include "vision/mrope_positions.h"
#include "vision/preprocess_config.h"
#include "worker/local_group.h"

namespace tpserve::cli {
namespace {

constexpr StringFlag kPromptIdsFlag{
    .name = "prompt-ids",
    .value_name = "IDS",
    .help = "comma-separated prompt token ids; prints the generated ids"};
constexpr StringFlag kPromptFlag{
    .name = "prompt",
    .value_name = "TEXT",
    .help = "prompt text; prints the generated text (special tokens left out)"};
constexpr BoolFlag kChatFlag{.name = "chat",
                             .help = "send --prompt as a user turn through the chat template"};
constexpr StringFlag kSystemFlag{
    .name = "system", .value_name = "TEXT", .help = "with --chat: a system message first"};
constexpr BoolFlag kNoThinkFlag{
    .name = "no-think",
    .help =
        "with --chat: thinking off (default: the model's; off for the 24-layer 0.8B / 2B, on "
        "for larger models)"};
constexpr BoolFlag kThinkFlag{.name = "think", .help = "with --chat: thinking on"};
constexpr StringFlag kImageFlag{
    .name = "image",
    .value_name = "FILE",
    .help =
        "a PNG, JPEG or WebP image (repeatable; needs a vision model). --chat puts the images "
        "before the text of the user turn; --prompt needs one <|image_pad|> per image; "
        "--prompt-ids needs the image-pad id once per image (expanded here) or already "
        "expanded to the image's token count"};
constexpr BoolFlag kIgnoreEosFlag{.name = "ignore-eos",
                                  .help = "do not stop at the model's end-of-sequence ids"};
constexpr StringFlag kLogitsOutFlag{
    .name = "logits-out",
    .value_name = "FILE.npy",
    .help = "write float32 logits of every computed position [positions, vocab]"};
constexpr BoolFlag kJsonFlag{
    .name = "json",
    .help =
        "print {\"tokens\": [...], \"prefill_ms\": ..., ...}; with --prompt also \"text\", "
        "and with --chat \"reasoning\", \"content\", \"tool_calls\""};

const FlagList& Flags() {
  static const FlagList* const flags = new FlagList(
      Concat(Concat({worker::kModelFlag, kPromptIdsFlag, kPromptFlag, kChatFlag, kSystemFlag,
                     kNoThinkFlag, kThinkFlag, kImageFlag, kMaxTokensFlag},
                    SamplingFlagList()),
             Concat({kIgnoreEosFlag, kLogitsOutFlag, kJsonFlag},
                    ModelFlagList(worker::kMaxContextFlag.WithDefault(
                        worker::kMaxContextFlag.default_value, "the prompt + --max-tokens")))));
  return *flags;
}

std::string Help() {
  return "usage: tpserve generate --model DIR (--prompt-ids 1,2,3 | --prompt TEXT [--chat]) "
         "[flags]\n"
         "\n" +
         FlagUsage(Flags());
}

// The text prompt of --prompt / --chat and what is needed to read the output back.
struct TextPrompt {
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  std::vector<int32_t> ids;
  bool chat = false;
  bool thinking = false;  // the chat prompt ends inside an open <think> block
};

absl::StatusOr<TextPrompt> BuildTextPrompt(const CommandLine& args, const std::string& model_dir,
                                           size_t num_images) {
  TextPrompt p;
  TPS_ASSIGN_OR_RETURN(p.tokenizer, tokenizer::Tokenizer::FromModelDir(model_dir));
  const std::string prompt = args.Get(kPromptFlag);
  std::string text = prompt;
  p.chat = args.Get(kChatFlag);
  if (p.chat) {
    if (args.Get(kThinkFlag) && args.Get(kNoThinkFlag)) {
      return absl::InvalidArgumentError("--think and --no-think are exclusive");
    }
    TPS_ASSIGN_OR_RETURN(model::Qwen35Spec spec, model::LoadQwen35Config(model_dir));
    tokenizer::ChatTemplateOptions options;
    options.default_thinking = tokenizer::DefaultThinkingForModel(spec.text.num_hidden_layers);
    if (args.Get(kThinkFlag)) options.enable_thinking = true;
    if (args.Get(kNoThinkFlag)) options.enable_thinking = false;
    p.thinking = options.enable_thinking.value_or(options.default_thinking);
    std::vector<tokenizer::ChatMessage> messages;
    if (args.Has(kSystemFlag))
      messages.push_back(tokenizer::ChatMessage::System(args.Get(kSystemFlag)));
    if (num_images == 0) {
      messages.push_back(tokenizer::ChatMessage::User(prompt));
    } else {
      std::vector<tokenizer::ContentPart> parts(num_images, tokenizer::ContentPart::Image());
      parts.push_back(tokenizer::ContentPart::Text(prompt));
      messages.push_back({"user", std::move(parts), {}, {}});
    }
    absl::StatusOr<std::string> rendered =
        tokenizer::RenderChatTemplate(messages, nullptr, options);
    if (!rendered.ok()) return Annotate(rendered.status(), "--chat");
    text = *std::move(rendered);
  } else if (args.Has(kSystemFlag) || args.Get(kThinkFlag) || args.Get(kNoThinkFlag)) {
    return absl::InvalidArgumentError("--system, --think and --no-think need --chat");
  }
  absl::StatusOr<std::vector<int32_t>> ids = p.tokenizer->Encode(text);
  if (!ids.ok()) return Annotate(ids.status(), "--prompt");
  p.ids = *std::move(ids);
  return p;
}

// The files of --image, and the prompt with each image's placeholder expanded to its token count.
struct PromptImages {
  std::vector<std::string> bytes;
  std::vector<int64_t> tokens;  // per image
};

absl::StatusOr<PromptImages> ReadImages(const std::vector<std::string>& files,
                                        const std::string& model_dir) {
  PromptImages out;
  if (files.empty()) return out;
  TPS_ASSIGN_OR_RETURN(model::Qwen35Spec spec, model::LoadQwen35Config(model_dir));
  if (!spec.has_vision_tower()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--image: ", model_dir, " has no vision tower (text-only config)"));
  }
  TPS_ASSIGN_OR_RETURN(vision::PreprocessConfig pre, vision::LoadPreprocessorConfig(model_dir));
  const vision::ImageLimits limits;
  TPS_RETURN_IF_ERROR_CTX(vision::CheckImageCount(static_cast<int64_t>(files.size()), limits),
                          "--image");
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("--image: cannot read ", f));
    std::stringstream ss;
    ss << in.rdbuf();
    absl::StatusOr<vision::ImagePlan> plan = vision::PlanImage(ss.str(), pre, limits);
    if (!plan.ok()) return Annotate(plan.status(), absl::StrCat("--image ", f));
    out.bytes.push_back(ss.str());
    out.tokens.push_back(plan->num_tokens());
  }
  return out;
}

// Expands single image-pad ids to each image's token count; a prompt whose pad runs already have
// the full counts is kept (the generator checks it against the images).
absl::StatusOr<std::vector<int32_t>> ExpandPlaceholders(const std::vector<int32_t>& ids,
                                                        int32_t image_token,
                                                        const PromptImages& images,
                                                        std::string_view flag) {
  if (images.bytes.empty()) return ids;
  std::vector<int64_t> runs;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] != image_token) continue;
    if (i > 0 && ids[i - 1] == image_token) {
      ++runs.back();
    } else {
      runs.push_back(1);
    }
  }
  if (runs == images.tokens) return ids;  // already expanded
  absl::StatusOr<std::vector<int32_t>> out =
      vision::ExpandImagePlaceholders(ids, image_token, images.tokens);
  if (!out.ok()) return Annotate(out.status(), flag);
  return out;
}

}  // namespace

absl::Status RunGenerate(const std::vector<std::string>& argv) {
  TPS_ASSIGN_OR_RETURN(CommandLine args, CommandLine::Parse(argv, Flags()));
  if (args.help()) {
    std::fputs(Help().c_str(), stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(std::string model_dir, args.Required(worker::kModelFlag));
  TPS_ASSIGN_OR_RETURN(PromptImages images, ReadImages(args.GetAll(kImageFlag), model_dir));
  std::optional<TextPrompt> text_prompt;
  std::vector<int32_t> prompt;
  if (args.Has(kPromptFlag)) {
    if (args.Has(kPromptIdsFlag))
      return absl::InvalidArgumentError("--prompt and --prompt-ids are exclusive");
    TPS_ASSIGN_OR_RETURN(text_prompt, BuildTextPrompt(args, model_dir, images.bytes.size()));
    prompt = text_prompt->ids;
    if (prompt.empty()) return absl::InvalidArgumentError("--prompt: the text has no tokens");
  } else {
    if (args.Get(kChatFlag) || args.Has(kSystemFlag) || args.Get(kThinkFlag) ||
        args.Get(kNoThinkFlag)) {
      return absl::InvalidArgumentError(
          "--chat, --system, --think and --no-think need --prompt TEXT");
    }
    TPS_ASSIGN_OR_RETURN(prompt, args.GetIntList(kPromptIdsFlag));
    if (prompt.empty()) {
      return absl::InvalidArgumentError(
          "--prompt-ids: needs at least one token id (e.g. 1,2,3), or give --prompt TEXT");
    }
  }
  if (!images.bytes.empty()) {
    TPS_ASSIGN_OR_RETURN(model::Qwen35Spec spec, model::LoadQwen35Config(model_dir));
    TPS_ASSIGN_OR_RETURN(prompt,
                         ExpandPlaceholders(prompt, spec.image_token_id, images,
                                            args.Has(kPromptFlag) ? "--prompt" : "--prompt-ids"));
  }
  TPS_ASSIGN_OR_RETURN(const int64_t max_tokens, args.Get(kMaxTokensFlag));
  shard::SamplingParams sampling;
  TPS_ASSIGN_OR_RETURN(const SamplingFlags given, ParseSamplingFlags(args));
  sampling.temperature = given.fields.temperature.value_or(sampling.temperature);
  sampling.top_k = given.fields.top_k.value_or(sampling.top_k);
  sampling.top_p = given.fields.top_p.value_or(sampling.top_p);
  sampling.min_p = given.fields.min_p.value_or(sampling.min_p);
  sampling.repetition_penalty =
      given.fields.repetition_penalty.value_or(sampling.repetition_penalty);
  sampling.seed = given.seed;
  TPS_RETURN_IF_ERROR_CTX(sampling.Validate(), "sampling");

  const std::string logits_out = args.Get(kLogitsOutFlag);
  TPS_ASSIGN_OR_RETURN(ModelFlags flags, ParseModelFlags(args));
  shard::ModelOptions options = flags.options;
  options.max_slots = 1;
  if (!args.Has(worker::kMaxContextFlag)) {
    options.max_context = static_cast<int32_t>(static_cast<int64_t>(prompt.size()) + max_tokens);
  }
  tools::GeneratorOptions gen;
  gen.prefill_chunk = flags.prefill_chunk;
  if (!logits_out.empty()) {
    // Every prompt position's logits: keep a chunk's rows small (the vocabulary can be 248k wide).
    if (!args.Has(kPrefillChunkFlag)) gen.prefill_chunk = 64;
    gen.all_logits = true;
    options.max_logit_rows = gen.prefill_chunk;
  }
  options.max_tokens_per_step =
      std::min<int64_t>(options.max_tokens_per_step, std::max<int64_t>(gen.prefill_chunk, 1));

  TPS_ASSIGN_OR_RETURN(std::unique_ptr<worker::LocalGroup> replica,
                       OpenLocalGroup(model_dir, flags, options));
  const shard::LoadedModel& loaded = replica->loaded();
  if (loaded.spec.random_weights) {
    std::fprintf(stderr,
                 "tpserve: note: %s has RANDOM weights (made by make-random-model); its "
                 "output is noise\n",
                 model_dir.c_str());
  }

  tools::GenerationRequest request;
  request.prompt = prompt;
  request.max_new_tokens = static_cast<int32_t>(max_tokens);
  request.sampling = sampling;
  request.images = std::move(images.bytes);
  if (!args.Get(kIgnoreEosFlag)) request.stop_token_ids = loaded.stop_token_ids;
  if (text_prompt.has_value()) {
    // Only ids the tokenizer can read back (checkpoints pad the vocabulary past the last token),
    // and stop on <|im_end|> / <|endoftext|> whatever generation_config.json says (spec §1.6).
    const int64_t vocab = loaded.model->spec().text.vocab_size;
    if (text_prompt->tokenizer->vocab_size() < vocab)
      gen.valid_vocab = text_prompt->tokenizer->vocab_size();
    if (!args.Get(kIgnoreEosFlag)) {
      for (const char* stop : {"<|im_end|>", "<|endoftext|>"}) {
        const std::optional<int32_t> id = text_prompt->tokenizer->TokenToId(stop);
        if (id.has_value() &&
            std::find(request.stop_token_ids.begin(), request.stop_token_ids.end(), *id) ==
                request.stop_token_ids.end()) {
          request.stop_token_ids.push_back(*id);
        }
      }
    }
  }

  NpyWriter npy;
  absl::Status write_status;
  if (!logits_out.empty()) {
    TPS_RETURN_IF_ERROR(npy.Open(logits_out, loaded.model->spec().text.vocab_size));
    gen.on_logits = [&](size_t, absl::Span<const float> row) {
      if (write_status.ok()) write_status = npy.AppendRows(row.data(), 1);
    };
  }
  tools::GenerationStats stats;
  TPS_ASSIGN_OR_RETURN(std::vector<tools::GenerationResult> results,
                       tools::Generate(*replica, absl::MakeConstSpan(&request, 1), gen, &stats));
  TPS_RETURN_IF_ERROR(write_status);
  if (!logits_out.empty()) TPS_RETURN_IF_ERROR(npy.Close());

  const tools::GenerationResult& result = results[0];
  std::string text;
  tokenizer::ParsedOutput parsed;
  if (text_prompt.has_value()) {
    tokenizer::IncrementalDetokenizer detok(*text_prompt->tokenizer);
    for (int32_t id : result.tokens) {
      absl::StatusOr<std::string> piece = detok.Push(id);
      if (!piece.ok()) return Annotate(piece.status(), "generated ids");
      text += *piece;
    }
    text += detok.Finish();
    if (text_prompt->chat) {
      parsed =
          tokenizer::OutputParser::ParseAll(text, {.starts_in_reasoning = text_prompt->thinking});
    }
  }
  if (args.Get(kJsonFlag)) {
    nlohmann::json j;
    j["tokens"] = result.tokens;
    j["prompt_tokens"] = prompt.size();
    if (!images.tokens.empty()) j["image_tokens"] = images.tokens;
    j["finish_reason"] = result.finish_reason == tools::FinishReason::kStop ? "stop" : "length";
    j["prefill_ms"] = stats.prefill_seconds * 1e3;
    j["decode_tokens_per_s"] = stats.decode_seconds > 0
                                   ? static_cast<double>(stats.decode_tokens) / stats.decode_seconds
                                   : 0.0;
    if (!logits_out.empty()) j["logits_rows"] = npy.rows();
    if (text_prompt.has_value()) {
      j["text"] = text;
      if (text_prompt->chat) {
        j["reasoning"] = parsed.reasoning;
        j["content"] = parsed.content;
        j["tool_calls"] = nlohmann::json::array();
        for (const tokenizer::ToolCall& call : parsed.tool_calls) {
          const std::string args_json =
              call.arguments.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
          j["tool_calls"].push_back(
              {{"name", call.name},
               {"arguments",
                nlohmann::json::parse(args_json, nullptr, /*allow_exceptions=*/false)}});
        }
      }
    }
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  } else if (text_prompt.has_value()) {
    std::cout << text << std::endl;
  } else {
    std::cout << absl::StrJoin(result.tokens, " ") << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace tpserve::cli
