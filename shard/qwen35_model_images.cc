// Qwen35Model's image splicing (spec §5.9): after the token embedding of a step, the rows of every
// image-pad token an image claims are overwritten by that image's merged vision tokens, in order.
// Every rank of a group runs this on the same plan: each decodes the images and runs its share of
// the tower (vision/image_encoder.h), so embeddings never travel between processes.
#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "shard/qwen35_model.h"

namespace tpserve::shard {

void Qwen35Model::DropCachedImages(int32_t slot) {
  for (auto it = image_cache_.begin(); it != image_cache_.end();) {
    it = it->first.first == slot ? image_cache_.erase(it) : std::next(it);
  }
}

absl::Status Qwen35Model::SpliceImages(const StepPlan& plan, ops::TensorView hidden) {
  // One use of an image in this step: rows [row_in_image, row_in_image + count) of its
  // embeddings go to hidden rows [hidden_row, hidden_row + count).
  struct Use {
    std::pair<int32_t, int32_t> key;
    int64_t row_in_image;
    int64_t count;
    int64_t hidden_row;
    bool last;  // the image's last token is in this step
  };
  std::vector<Use> uses;
  std::vector<std::string_view> to_encode;
  std::vector<std::pair<int32_t, int32_t>> encode_keys;
  int64_t step_row = 0;
  for (size_t s = 0; s < plan.sequences.size(); ++s) {
    const SequenceStep& seq = plan.sequences[s];
    const int64_t begin = seq.start_index;
    const int64_t end = begin + static_cast<int64_t>(seq.token_ids.size());
    for (size_t k = 0; k < seq.images.size(); ++k) {
      const StepImage& img = seq.images[k];
      auto where = [&] { return absl::StrCat("sequence ", s, " image ", k); };
      if (image_encoder_ == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            where(), ": this model has no vision tower (a text-only config or checkpoint)"));
      }
      if (img.bytes == nullptr)
        return absl::InvalidArgumentError(absl::StrCat(where(), ": no bytes"));
      absl::StatusOr<vision::ImagePlan> p = image_encoder_->Plan(*img.bytes);
      if (!p.ok()) return Annotate(p.status(), where());
      const int64_t first = img.first_token, tokens = p->num_tokens();
      const int64_t lo = std::max(begin, first), hi = std::min(end, first + tokens);
      if (first < 0) {
        return absl::InvalidArgumentError(absl::StrCat(where(), ": first_token ", first, " < 0"));
      }
      if (lo >= hi) continue;  // none of its tokens are in this step
      for (int64_t i = lo; i < hi; ++i) {
        const int32_t id = seq.token_ids[static_cast<size_t>(i - begin)];
        if (id != spec_.image_token_id) {
          return absl::InvalidArgumentError(
              absl::StrCat(where(), " (", tokens, " tokens from index ", first, "): token ", i,
                           " is ", id, ", not the image token ", spec_.image_token_id));
        }
      }
      const std::pair<int32_t, int32_t> key = {seq.slot, img.first_token};
      uses.push_back({key, lo - first, hi - lo, step_row + (lo - begin), hi == first + tokens});
      if (!image_cache_.count(key) &&
          std::find(encode_keys.begin(), encode_keys.end(), key) == encode_keys.end()) {
        to_encode.push_back(*img.bytes);
        encode_keys.push_back(key);
      }
    }
    step_row += end - begin;
  }
  if (uses.empty()) return absl::OkStatus();
  if (!to_encode.empty()) {
    TPS_ASSIGN_OR_RETURN(vision::TowerOutput out, image_encoder_->Encode(to_encode));
    auto shared = std::make_shared<const vision::TowerOutput>(std::move(out));
    for (size_t i = 0; i < encode_keys.size(); ++i) image_cache_[encode_keys[i]] = {shared, i};
  }
  // The Embedding op is the device-side row gather: table = the image's embeddings, ids = rows.
  std::vector<int32_t> ids;
  for (const Use& u : uses) {
    ids.resize(static_cast<size_t>(u.count));
    std::iota(ids.begin(), ids.end(), static_cast<int32_t>(u.row_in_image));
    TPS_ASSIGN_OR_RETURN(ops::DeviceBuffer buf, backend_.Allocate(ids.size() * sizeof(int32_t),
                                                                  ops::BufferUsage::kStaging));
    ops::TensorView ids_dev = buf.View(DType::kI32, {u.count});
    TPS_RETURN_IF_ERROR(backend_.Upload(
        absl::MakeConstSpan(reinterpret_cast<const std::byte*>(ids.data()), ids.size() * 4),
        ids_dev));
    const CachedImage& c = image_cache_.at(u.key);
    const int64_t first_row = c.output->first_row[c.index];
    const ops::ConstTensorView table =
        ops::ConstTensorView(c.output->embeddings)
            .Slice(0, first_row, first_row + c.output->num_tokens[c.index]);
    TPS_RETURN_IF_ERROR(
        backend_.Embedding({.table = table,
                            .ids = ids_dev,
                            .out = hidden.Slice(0, u.hidden_row, u.hidden_row + u.count)}));
    TPS_RETURN_IF_ERROR(backend_.Synchronize());
  }
  for (const Use& u : uses) {
    if (u.last) image_cache_.erase(u.key);
  }
  return absl::OkStatus();
}

}  // namespace tpserve::shard
