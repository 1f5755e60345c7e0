// A tokenizer loaded from a Hugging Face tokenizer.json: byte-level BPE as `tokenizers` runs it
// for the Qwen families (Qwen2/2.5/3, Qwen3.5/3.6). Everything comes from the file: added tokens,
// normalizer, pre-tokenizer regex, vocabulary and merges, so one class serves every vocabulary.
//
//   encode: added tokens split out of the raw text -> NFC (per remaining piece) -> regex split
//           -> BPE per word on raw bytes            (no BOS/EOS is ever added)
//   decode: each id's bytes (byte-level map reversed; added tokens likewise) concatenated, then
//           read as UTF-8 with U+FFFD for ill-formed parts (tokenizers' ByteLevel decoder)
//
// Components the file may name but this class does not implement (other models, normalizers,
// pre-tokenizers, decoders, post-processors, truncation, padding) are refused at load time with
// an error naming the field: a tokenizer that silently differs from the reference is worse than
// none. Thread-safe after construction.
#ifndef TPSERVE_COORDINATOR_TOKENIZER_TOKENIZER_H_
#define TPSERVE_COORDINATOR_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "coordinator/tokenizer/added_tokens.h"
#include "coordinator/tokenizer/bpe.h"
#include "coordinator/tokenizer/normalizer.h"
#include "coordinator/tokenizer/pretokenizer.h"

namespace tpserve::tokenizer {

struct DecodeOptions {
  // Leave out added tokens marked "special" (<|im_end|>, <|endoftext|>, ...). Tokens such as
  // <think> or <tool_call> that are not special in the file are always decoded.
  bool skip_special_tokens = false;
};

class Tokenizer {
 public:
  // Reads and parses a tokenizer.json. NotFound names a missing file; InvalidArgument names the
  // offending field ("<path>: model.merges[12]: ...").
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromFile(const std::string& path);
  // `model_dir`/tokenizer.json.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromModelDir(const std::string& model_dir);
  // From the text of a tokenizer.json; `source_name` prefixes error messages.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromJsonText(std::string_view json_text,
                                                                 std::string_view source_name);

  // The ids of `text`. Text that is not well-formed UTF-8 is InvalidArgument naming the byte
  // offset. Added tokens written in the text (e.g. "<|im_start|>") become their ids.
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text) const;
  // Same, appending to `ids`.
  absl::Status EncodeAppend(std::string_view text, std::vector<int32_t>* ids) const;

  // Text a caller wrote (a chat message) made literal: kLiteralMark is put before every added
  // token written in it ("<|im_start|>", "<|image_pad|>", "<think>", ...), except those whose
  // content is in `keep`, so that EncodeWithLiterals encodes them as the plain text they are.
  // `text` must be valid UTF-8 (the mark is a byte UTF-8 never holds).
  std::string EscapeAddedTokens(std::string_view text,
                                absl::Span<const std::string_view> keep = {}) const;
  // Encode for a prompt assembled from template markers and escaped caller text: an added token
  // right after kLiteralMark is ordinary text, and the marks themselves are dropped. For text
  // without marks it equals Encode. (A piece of ordinary text that held marks is not searched for
  // "normalized": true added tokens, which no Qwen tokenizer has.)
  absl::StatusOr<std::vector<int32_t>> EncodeWithLiterals(std::string_view text) const;
  static constexpr char kLiteralMark = '\xFF';

  // The text of `ids`. An id that is neither in the vocabulary nor an added token is
  // InvalidArgument naming its position (tokenizers would skip it silently).
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids,
                                     const DecodeOptions& options = {}) const;

  // The raw bytes id `id` stands for (may be part of a UTF-8 sequence); InvalidArgument for an
  // unknown id.
  absl::StatusOr<std::string_view> TokenBytes(int32_t id) const;
  bool IsKnownId(int32_t id) const;
  // True for added tokens marked "special".
  bool IsSpecial(int32_t id) const;
  // An added token's content, or a vocabulary entry's byte-level spelling ("Ġhello").
  std::optional<int32_t> TokenToId(std::string_view token) const;
  std::optional<std::string> IdToToken(int32_t id) const;

  // One past the largest id (vocabulary or added token).
  int32_t vocab_size() const { return static_cast<int32_t>(kind_.size()); }
  const std::vector<AddedToken>& added_tokens() const { return added_.tokens(); }
  const BpeModel& model() const { return *model_; }
  // For benchmarks: encode without the per-word BPE cache. Not to be called while other threads
  // encode.
  void set_bpe_cache_enabled(bool enabled) { model_->set_cache_enabled(enabled); }

 private:
  enum class Kind : uint8_t { kNone, kModel, kAdded, kAddedSpecial };

  Tokenizer() = default;
  absl::Status EncodeAppendImpl(std::string_view text, bool literals,
                                std::vector<int32_t>* ids) const;
  absl::Status EncodeOrdinary(std::string_view text, std::vector<int32_t>* ids,
                              bool match_normalized = true) const;
  absl::Status EncodeWords(std::string_view normalized, std::vector<int32_t>* ids) const;
  void BuildDecodeTable();

  std::unique_ptr<BpeModel> model_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  AddedVocabulary added_;

  // Decode table, by id: kind, and the bytes in bytes_[offsets_[id], offsets_[id + 1]).
  std::vector<Kind> kind_;
  std::vector<uint32_t> offsets_;
  std::string bytes_;
};

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_TOKENIZER_H_
