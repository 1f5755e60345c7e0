#include "coordinator/tokenizer/bpe.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/tokenizer/absl_compat.h"
#include "coordinator/tokenizer/byte_level.h"
#include "coordinator/tokenizer/json_fields.h"
#include "coordinator/tokenizer/utf8.h"
#include "ops/base/status_macros.h"

namespace tpserve::tokenizer {
namespace {

// Ids are dense-ish; a larger id in a file is almost certainly corruption.
constexpr int64_t kMaxTokenId = 16 * 1024 * 1024;

struct Symbol {
  int32_t id;
  int32_t prev;  // index of the previous live symbol, -1 at the start
  int32_t next;  // index of the next live symbol, -1 at the end
  bool alive;
};

struct Candidate {
  int32_t rank;
  int32_t pos;  // index of the left symbol
  int32_t new_id;
};

// Heap order (std::push_heap keeps the "largest" on top): the top is the lowest rank, then the
// lowest position.
struct CandidateAfter {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

struct Scratch {
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

Scratch& GetScratch() {
  thread_local Scratch scratch;
  return scratch;
}

std::atomic<uint64_t> next_model_serial{1};

absl::StatusOr<std::pair<std::string, std::string>> ParseMerge(const nlohmann::json& m,
                                                               const std::string& path) {
  if (m.is_string()) {
    const std::string& s = m.get_ref<const std::string&>();
    const size_t space = s.find(' ');
    if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": expected \"left right\" (exactly one space), got \"", s, "\""));
    }
    return std::make_pair(s.substr(0, space), s.substr(space + 1));
  }
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
    return std::make_pair(m[0].get<std::string>(), m[1].get<std::string>());
  }
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": expected a string \"left right\" or a [left, right] pair"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::FromJson(const nlohmann::json& spec,
                                                             std::string_view path) {
  if (!spec.is_object())
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(path), ": expected an object"));
  std::unique_ptr<BpeModel> model(new BpeModel());
  model->serial_ = next_model_serial.fetch_add(1, std::memory_order_relaxed);
  if (const nlohmann::json* type = FindField(spec, "type"); type != nullptr) {
    if (!type->is_string() || type->get<std::string>() != "BPE") {
      return absl::InvalidArgumentError(absl::StrCat(JoinPath(path, "type"), ": model ",
                                                     type->dump(),
                                                     " is not supported (expected \"BPE\")"));
    }
  }
  if (const nlohmann::json* dropout = FindField(spec, "dropout");
      dropout != nullptr && !dropout->is_null() &&
      !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat(JoinPath(path, "dropout"), ": ", dropout->dump(),
                                                   " is not supported (expected null)"));
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    TPS_ASSIGN_OR_RETURN(std::string value, OptionalStringField(spec, key, path));
    if (!value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          JoinPath(path, key), ": \"", value, "\" is not supported (expected \"\" or null)"));
    }
  }
  TPS_ASSIGN_OR_RETURN(model->ignore_merges_, BoolField(spec, "ignore_merges", false, path));

  // Vocabulary.
  TPS_ASSIGN_OR_RETURN(const nlohmann::json* vocab, ObjectField(spec, "vocab", path));
  const std::string vocab_path = JoinPath(path, "vocab");
  int64_t max_id = -1;
  model->vocab_.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    const nlohmann::json& v = it.value();
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > kMaxTokenId) {
      return absl::InvalidArgumentError(absl::StrCat(vocab_path, "[\"", it.key(),
                                                     "\"]: expected an id in [0, ", kMaxTokenId,
                                                     "], got ", v.dump()));
    }
    TPS_RETURN_IF_ERROR_CTX(ValidateUtf8(it.key()), vocab_path, " key");
    max_id = std::max(max_id, v.get<int64_t>());
    model->vocab_.emplace(it.key(), static_cast<int32_t>(v.get<int64_t>()));
  }
  model->id_to_token_.resize(static_cast<size_t>(max_id + 1));
  model->has_id_.assign(static_cast<size_t>(max_id + 1), false);
  for (const auto& [token, id] : model->vocab_) {
    if (model->has_id_[id]) {
      return absl::InvalidArgumentError(absl::StrCat(vocab_path, ": id ", id, " is used by both \"",
                                                     model->id_to_token_[id], "\" and \"", token,
                                                     "\""));
    }
    model->has_id_[id] = true;
    model->id_to_token_[id] = token;
  }
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    AppendUtf8(ByteToChar(static_cast<uint8_t>(b)), &ch);
    auto it = model->vocab_.find(ch);
    if (it == model->vocab_.end()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: no token for byte 0x%02X (byte-level character \"%s\"); a byte-level BPE "
          "vocabulary must have all 256",
          vocab_path, b, ch));
    }
    model->byte_ids_[b] = it->second;
  }
  if (model->ignore_merges_) {
    for (const auto& [token, id] : model->vocab_) {
      if (std::optional<std::string> raw = ByteLevelToBytes(token); raw.has_value()) {
        model->raw_vocab_.emplace(*std::move(raw), id);
      }
    }
  }

  // Merges: rank = position in the list; a repeated pair keeps its last rank (as tokenizers does).
  TPS_ASSIGN_OR_RETURN(const nlohmann::json* merges, ArrayField(spec, "merges", path));
  const std::string merges_path = JoinPath(path, "merges");
  model->merges_.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const std::string item_path = absl::StrCat(merges_path, "[", i, "]");
    TPS_ASSIGN_OR_RETURN(auto pair, ParseMerge((*merges)[i], item_path));
    const auto left = model->vocab_.find(pair.first);
    const auto right = model->vocab_.find(pair.second);
    const auto merged = model->vocab_.find(pair.first + pair.second);
    for (const auto& [it, name] :
         {std::make_pair(left, pair.first), std::make_pair(right, pair.second),
          std::make_pair(merged, pair.first + pair.second)}) {
      if (it == model->vocab_.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(item_path, ": token \"", name, "\" is not in ", vocab_path));
      }
    }
    model->merges_.insert_or_assign(PairKey(left->second, right->second),
                                    Merge{static_cast<int32_t>(i), merged->second});
  }
  model->num_merges_ = static_cast<int64_t>(merges->size());
  return model;
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view token) const {
  auto it = vocab_.find(ToAbsl(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::IdToToken(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= has_id_.size() || !has_id_[id]) return nullptr;
  return &id_to_token_[id];
}

void BpeModel::MergeWord(std::string_view word, Ids* out) const {
  Scratch& scratch = GetScratch();
  std::vector<Symbol>& symbols = scratch.symbols;
  const auto n = static_cast<int32_t>(word.size());
  symbols.resize(word.size());
  for (int32_t i = 0; i < n; ++i) {
    symbols[i] = {byte_ids_[static_cast<uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1, true};
  }
  std::vector<Candidate>& heap = scratch.heap;  // a binary heap ordered by CandidateAfter
  heap.clear();
  const auto push = [&heap](Candidate c) {
    heap.push_back(c);
    std::push_heap(heap.begin(), heap.end(), CandidateAfter{});
  };
  for (int32_t i = 0; i + 1 < n; ++i) {
    auto it = merges_.find(PairKey(symbols[i].id, symbols[i + 1].id));
    if (it != merges_.end()) push({it->second.rank, i, it->second.new_id});
  }
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), CandidateAfter{});
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    // Stale entry: the pair at this position changed since it was queued.
    auto it = merges_.find(PairKey(left.id, right.id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0) {
      auto p = merges_.find(PairKey(symbols[left.prev].id, left.id));
      if (p != merges_.end()) push({p->second.rank, left.prev, p->second.new_id});
    }
    if (left.next >= 0) {
      auto q = merges_.find(PairKey(left.id, symbols[left.next].id));
      if (q != merges_.end()) push({q->second.rank, top.pos, q->second.new_id});
    }
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out->push_back(symbols[i].id);
}

void BpeModel::EncodeWord(std::string_view word, std::vector<int32_t>* ids) const {
  if (word.size() == 1) {
    ids->push_back(byte_ids_[static_cast<uint8_t>(word[0])]);
    return;
  }
  if (ignore_merges_) {
    auto it = raw_vocab_.find(ToAbsl(word));
    if (it != raw_vocab_.end()) {
      ids->push_back(it->second);
      return;
    }
  }
  const bool cacheable = cache_enabled_ && word.size() <= kMaxCachedWordBytes;
  if (!cacheable) {
    Ids merged;
    MergeWord(word, &merged);
    ids->insert(ids->end(), merged.begin(), merged.end());
    return;
  }
  WordCache& cache = ThreadCache();
  auto it = cache.find(ToAbsl(word));
  if (it == cache.end()) {
    Ids merged;
    MergeWord(word, &merged);
    if (cache.size() >= kCacheCapacity) {
      ids->insert(ids->end(), merged.begin(), merged.end());
      return;
    }
    it = cache.emplace(std::string(word), std::move(merged)).first;
  }
  ids->insert(ids->end(), it->second.begin(), it->second.end());
}

BpeModel::WordCache& BpeModel::ThreadCache() const {
  // A thread keeps the caches of the few models it used last; the last one is looked up first.
  constexpr size_t kMaxModelsPerThread = 4;
  thread_local uint64_t last_serial = 0;
  thread_local WordCache* last = nullptr;
  if (last_serial == serial_) return *last;
  thread_local absl::flat_hash_map<uint64_t, std::unique_ptr<WordCache>> caches;
  auto found = caches.find(serial_);
  if (found == caches.end()) {
    if (caches.size() >= kMaxModelsPerThread) caches.clear();  // models come and go rarely
    found = caches.emplace(serial_, std::make_unique<WordCache>()).first;
  }
  last_serial = serial_;
  last = found->second.get();
  return *last;
}

}  // namespace tpserve::tokenizer
