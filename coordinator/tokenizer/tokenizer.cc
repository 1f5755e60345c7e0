#include "coordinator/tokenizer/tokenizer.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "coordinator/tokenizer/absl_compat.h"
#include "coordinator/tokenizer/byte_level.h"
#include "coordinator/tokenizer/json_fields.h"
#include "coordinator/tokenizer/utf8.h"
#include "ops/base/status_macros.h"

namespace tpserve::tokenizer {
namespace {

// Per-thread buffers for Encode, so encoding allocates nothing in the steady state.
struct EncodeScratch {
  std::vector<TextPiece> raw_pieces;
  std::vector<TextPiece> normalized_pieces;
  std::vector<MatchSpan> words;
  std::string normalized;
  std::string unmarked;
};

EncodeScratch& GetEncodeScratch() {
  thread_local EncodeScratch scratch;
  return scratch;
}

// Accepts a ByteLevel decoder or post-processor (and nothing else) for `key`; null is allowed for
// the post-processor only (it does not change ids when no special tokens are added).
absl::Status CheckByteLevelStage(const nlohmann::json& root, const char* key, bool null_ok) {
  const nlohmann::json* stage = FindField(root, key);
  if (stage == nullptr || stage->is_null()) {
    if (null_ok) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": missing (expected a ByteLevel ", key, ")"));
  }
  if (!stage->is_object())
    return absl::InvalidArgumentError(absl::StrCat(key, ": expected an object"));
  TPS_ASSIGN_OR_RETURN(std::string type, StringField(*stage, "type", key));
  if (type != "ByteLevel") {
    return absl::InvalidArgumentError(absl::StrCat(JoinPath(key, "type"), ": '", type,
                                                   "' is not supported (expected ByteLevel)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Annotated(absl::StatusOr<std::unique_ptr<Tokenizer>> t,
                                                     std::string_view source) {
  if (t.ok() || source.empty()) return t;
  return Annotate(t.status(), source);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open tokenizer file ", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path));
  return FromJsonText(text.str(), path);
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromModelDir(const std::string& model_dir) {
  return FromFile(absl::StrCat(model_dir, "/tokenizer.json"));
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJsonText(std::string_view json_text,
                                                                   std::string_view source_name) {
  const nlohmann::json root = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr,
                                                    /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return Annotated(absl::InvalidArgumentError("not a valid JSON object"), source_name);
  }
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  auto build = [&]() -> absl::Status {
    for (const char* key : {"truncation", "padding"}) {
      if (const nlohmann::json* v = FindField(root, key); v != nullptr && !v->is_null()) {
        return absl::InvalidArgumentError(
            absl::StrCat(key, ": ", v->dump(), " is not supported (expected null)"));
      }
    }
    TPS_ASSIGN_OR_RETURN(const nlohmann::json* model, ObjectField(root, "model", ""));
    TPS_ASSIGN_OR_RETURN(t->model_, BpeModel::FromJson(*model, "model"));
    const nlohmann::json* normalizer = FindField(root, "normalizer");
    TPS_ASSIGN_OR_RETURN(
        t->normalizer_,
        Normalizer::FromJson(normalizer ? *normalizer : nlohmann::json(), "normalizer"));
    const nlohmann::json* pre = FindField(root, "pre_tokenizer");
    TPS_ASSIGN_OR_RETURN(t->pre_tokenizer_,
                         PreTokenizer::FromJson(pre ? *pre : nlohmann::json(), "pre_tokenizer"));
    TPS_RETURN_IF_ERROR(CheckByteLevelStage(root, "decoder", /*null_ok=*/false));
    TPS_RETURN_IF_ERROR(CheckByteLevelStage(root, "post_processor", /*null_ok=*/true));
    const nlohmann::json* added = FindField(root, "added_tokens");
    TPS_ASSIGN_OR_RETURN(
        t->added_, AddedVocabulary::FromJson(added ? *added : nlohmann::json(), "added_tokens",
                                             *t->model_, t->normalizer_));
    t->BuildDecodeTable();
    return absl::OkStatus();
  };
  if (absl::Status s = build(); !s.ok()) return Annotated(s, source_name);
  return t;
}

void Tokenizer::BuildDecodeTable() {
  int32_t max_id = model_->max_id();
  for (const AddedToken& a : added_.tokens()) max_id = std::max(max_id, a.id);
  kind_.assign(static_cast<size_t>(max_id + 1), Kind::kNone);
  offsets_.assign(static_cast<size_t>(max_id + 2), 0);
  bytes_.clear();
  for (int32_t id = 0; id <= max_id; ++id) {
    offsets_[id] = static_cast<uint32_t>(bytes_.size());
    if (const AddedToken* a = added_.FindById(id); a != nullptr) {
      kind_[id] = a->special ? Kind::kAddedSpecial : Kind::kAdded;
      bytes_ += ByteLevelTokenBytes(a->content);
    } else if (const std::string* token = model_->IdToToken(id); token != nullptr) {
      kind_[id] = Kind::kModel;
      bytes_ += ByteLevelTokenBytes(*token);
    }
  }
  offsets_[max_id + 1] = static_cast<uint32_t>(bytes_.size());
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::Encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  TPS_RETURN_IF_ERROR(EncodeAppend(text, &ids));
  return ids;
}

absl::Status Tokenizer::EncodeAppend(std::string_view text, std::vector<int32_t>* ids) const {
  return EncodeAppendImpl(text, /*literals=*/false, ids);
}

std::string Tokenizer::EscapeAddedTokens(std::string_view text,
                                         absl::Span<const std::string_view> keep) const {
  std::string out;
  out.reserve(text.size() + 8);
  size_t copied = 0;
  added_.raw_matcher().ForEachMatch(text, [&](size_t begin, size_t length) {
    const std::string_view token = text.substr(begin, length);
    for (std::string_view k : keep) {
      if (k == token) return;
    }
    out.append(text.substr(copied, begin - copied));
    out.push_back(kLiteralMark);
    copied = begin;
  });
  out.append(text.substr(copied));
  return out;
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::EncodeWithLiterals(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  TPS_RETURN_IF_ERROR(EncodeAppendImpl(text, /*literals=*/true, &ids));
  return ids;
}

absl::Status Tokenizer::EncodeAppendImpl(std::string_view text, bool literals,
                                         std::vector<int32_t>* ids) const {
  EncodeScratch& scratch = GetEncodeScratch();
  const bool marked = literals && text.find(kLiteralMark) != std::string_view::npos;
  if (marked) {
    // Validated without the marks (they are ours, not the caller's bytes).
    scratch.unmarked.clear();
    for (char c : text) {
      if (c != kLiteralMark) scratch.unmarked.push_back(c);
    }
    TPS_RETURN_IF_ERROR(ValidateUtf8(scratch.unmarked));
  } else {
    TPS_RETURN_IF_ERROR(ValidateUtf8(text));
  }
  std::vector<TextPiece>& pieces = scratch.raw_pieces;
  pieces.clear();
  added_.raw_matcher().Split(text, 0, &pieces,
                             marked ? std::optional<char>(kLiteralMark) : std::nullopt);
  std::string piece_text;
  for (const TextPiece& piece : pieces) {
    if (piece.id >= 0) {
      ids->push_back(piece.id);
    } else if (piece.end > piece.begin) {
      std::string_view ordinary = text.substr(piece.begin, piece.end - piece.begin);
      if (!marked || ordinary.find(kLiteralMark) == std::string_view::npos) {
        TPS_RETURN_IF_ERROR(EncodeOrdinary(ordinary, ids));
        continue;
      }
      piece_text.clear();
      for (char c : ordinary) {
        if (c != kLiteralMark) piece_text.push_back(c);
      }
      TPS_RETURN_IF_ERROR(EncodeOrdinary(piece_text, ids, /*match_normalized=*/false));
    }
  }
  return absl::OkStatus();
}

absl::Status Tokenizer::EncodeOrdinary(std::string_view text, std::vector<int32_t>* ids,
                                       bool match_normalized) const {
  EncodeScratch& scratch = GetEncodeScratch();
  std::string_view normalized = text;
  if (!normalizer_.is_identity()) {
    scratch.normalized.clear();
    TPS_RETURN_IF_ERROR(normalizer_.Normalize(text, &scratch.normalized));
    normalized = scratch.normalized;
  }
  if (!match_normalized || added_.normalized_matcher().empty()) {
    return EncodeWords(normalized, ids);
  }
  std::vector<TextPiece>& pieces = scratch.normalized_pieces;
  pieces.clear();
  added_.normalized_matcher().Split(normalized, 0, &pieces);
  for (const TextPiece& piece : pieces) {
    if (piece.id >= 0) {
      ids->push_back(piece.id);
    } else if (piece.end > piece.begin) {
      TPS_RETURN_IF_ERROR(
          EncodeWords(normalized.substr(piece.begin, piece.end - piece.begin), ids));
    }
  }
  return absl::OkStatus();
}

absl::Status Tokenizer::EncodeWords(std::string_view normalized, std::vector<int32_t>* ids) const {
  std::vector<MatchSpan>& words = GetEncodeScratch().words;
  words.clear();
  TPS_RETURN_IF_ERROR(pre_tokenizer_.Split(normalized, &words));
  for (const MatchSpan& w : words) {
    model_->EncodeWord(normalized.substr(w.begin, w.end - w.begin), ids);
  }
  return absl::OkStatus();
}

bool Tokenizer::IsKnownId(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < kind_.size() && kind_[id] != Kind::kNone;
}

bool Tokenizer::IsSpecial(int32_t id) const {
  return IsKnownId(id) && kind_[id] == Kind::kAddedSpecial;
}

absl::StatusOr<std::string_view> Tokenizer::TokenBytes(int32_t id) const {
  if (!IsKnownId(id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("token id ", id, " is not in the vocabulary (ids 0..", vocab_size() - 1, ")"));
  }
  return std::string_view(bytes_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
}

absl::StatusOr<std::string> Tokenizer::Decode(absl::Span<const int32_t> ids,
                                              const DecodeOptions& options) const {
  std::string bytes;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto b = TokenBytes(ids[i]);
    if (!b.ok()) return Annotate(b.status(), absl::StrCat("ids[", i, "]"));
    if (options.skip_special_tokens && kind_[ids[i]] == Kind::kAddedSpecial) continue;
    bytes.append(*b);
  }
  return LossyUtf8(bytes);
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  if (std::optional<int32_t> id = added_.TokenToId(token); id.has_value()) return id;
  return model_->TokenToId(token);
}

std::optional<std::string> Tokenizer::IdToToken(int32_t id) const {
  if (const AddedToken* a = added_.FindById(id); a != nullptr) return a->content;
  if (const std::string* t = model_->IdToToken(id); t != nullptr) return *t;
  return std::nullopt;
}

}  // namespace tpserve::tokenizer
