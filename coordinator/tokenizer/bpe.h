// The byte-level BPE model of tokenizer.json ("model": {"type": "BPE", ...}).
//
// Encoding works on raw bytes: a word starts as one symbol per byte (the id of that byte's
// byte-level character) and pairs are merged lowest rank first, leftmost first among equal ranks
// -- the order Hugging Face `tokenizers` uses (its Word::merge_all priority queue). Results are
// cached per word, in a cache of each thread's own (no lock on the hot path). Merges may be
// written "left right" or ["left", "right"].
#ifndef TPSERVE_COORDINATOR_TOKENIZER_BPE_H_
#define TPSERVE_COORDINATOR_TOKENIZER_BPE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tpserve::tokenizer {

class BpeModel {
 public:
  // Words longer than this are not cached (as in tokenizers).
  static constexpr size_t kMaxCachedWordBytes = 256;
  // Cached words per thread at most; further words are encoded but not cached.
  static constexpr size_t kCacheCapacity = 50000;

  // `spec` is tokenizer.json's "model"; `path` names it in errors.
  static absl::StatusOr<std::unique_ptr<BpeModel>> FromJson(const nlohmann::json& spec,
                                                            std::string_view path);

  // Appends the ids of one word (raw bytes, non-empty) to `ids`. Thread-safe.
  void EncodeWord(std::string_view word, std::vector<int32_t>* ids) const;

  // Vocabulary lookups by the token's byte-level spelling ("Ġhello").
  std::optional<int32_t> TokenToId(std::string_view token) const;
  // Empty when `id` is not in the vocabulary.
  const std::string* IdToToken(int32_t id) const;

  int64_t vocab_entries() const { return static_cast<int64_t>(vocab_.size()); }
  int32_t max_id() const { return static_cast<int32_t>(id_to_token_.size()) - 1; }
  int64_t num_merges() const { return num_merges_; }
  // Encode through the per-word cache (on by default; off for benchmarks of the merge loop).
  void set_cache_enabled(bool enabled) { cache_enabled_ = enabled; }

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  using Ids = absl::InlinedVector<int32_t, 4>;
  using WordCache = absl::flat_hash_map<std::string, Ids>;

  BpeModel() = default;
  void MergeWord(std::string_view word, Ids* out) const;
  // This thread's cache for this model.
  WordCache& ThreadCache() const;
  static uint64_t PairKey(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }

  absl::flat_hash_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;  // indexed by id; empty string = no such id
  std::vector<bool> has_id_;
  std::array<int32_t, 256> byte_ids_{};
  absl::flat_hash_map<uint64_t, Merge> merges_;
  int64_t num_merges_ = 0;
  // ignore_merges: a word that is itself in the vocabulary is one token (raw bytes -> id).
  bool ignore_merges_ = false;
  absl::flat_hash_map<std::string, int32_t> raw_vocab_;  // only filled when ignore_merges_
  bool cache_enabled_ = true;
  // Identifies this model's entries in the per-thread caches (never reused, unlike `this`).
  uint64_t serial_ = 0;
};

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_BPE_H_
