#include "vision/mrope_positions.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace tpserve::vision {

absl::StatusOr<std::vector<int32_t>> ExpandImagePlaceholders(
    absl::Span<const int32_t> ids, int32_t image_token_id,
    absl::Span<const int64_t> tokens_per_image, std::vector<int64_t>* first_tokens) {
  const int64_t found = std::count(ids.begin(), ids.end(), image_token_id);
  if (found != static_cast<int64_t>(tokens_per_image.size())) {
    return absl::InvalidArgumentError(absl::StrCat("the prompt has ", found,
                                                   " image placeholder(s) (token ", image_token_id,
                                                   ") for ", tokens_per_image.size(), " image(s)"));
  }
  std::vector<int32_t> out;
  int64_t extra = 0;
  for (int64_t n : tokens_per_image) {
    if (n <= 0) return absl::InvalidArgumentError(absl::StrCat("an image has ", n, " tokens"));
    extra += n - 1;
  }
  out.reserve(ids.size() + static_cast<size_t>(extra));
  if (first_tokens != nullptr) first_tokens->clear();
  size_t k = 0;
  for (int32_t id : ids) {
    if (id != image_token_id) {
      out.push_back(id);
      continue;
    }
    if (first_tokens != nullptr) first_tokens->push_back(static_cast<int64_t>(out.size()));
    out.insert(out.end(), static_cast<size_t>(tokens_per_image[k++]), image_token_id);
  }
  return out;
}

absl::StatusOr<std::vector<ImageSpan>> LocateImages(
    absl::Span<const int32_t> ids, int32_t image_token_id,
    absl::Span<const std::array<int64_t, 2>> merged_grids) {
  std::vector<ImageSpan> spans;
  size_t i = 0;
  for (size_t k = 0; k < merged_grids.size(); ++k) {
    while (i < ids.size() && ids[i] != image_token_id) ++i;
    const ImageSpan span{static_cast<int64_t>(i), merged_grids[k][0], merged_grids[k][1]};
    if (span.rows <= 0 || span.cols <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("image ", k, ": grid ", span.rows, "x", span.cols, " is empty"));
    }
    const size_t end = i + static_cast<size_t>(span.num_tokens());
    if (i >= ids.size() || end > ids.size() ||
        std::any_of(ids.begin() + static_cast<std::ptrdiff_t>(i),
                    ids.begin() + static_cast<std::ptrdiff_t>(end),
                    [&](int32_t id) { return id != image_token_id; })) {
      return absl::InvalidArgumentError(absl::StrCat(
          "image ", k, " needs ", span.num_tokens(), " consecutive image tokens (", span.rows, "x",
          span.cols, ") at prompt index ", i, "; the prompt does not have them"));
    }
    spans.push_back(span);
    i = end;
  }
  for (; i < ids.size(); ++i) {
    if (ids[i] == image_token_id) {
      return absl::InvalidArgumentError(absl::StrCat("image token at prompt index ", i,
                                                     " belongs to no image (", merged_grids.size(),
                                                     " image(s) given)"));
    }
  }
  return spans;
}

absl::StatusOr<MropePositions> ComputeMropePositions(absl::Span<const int32_t> ids,
                                                     int32_t image_token_id,
                                                     absl::Span<const ImageSpan> images) {
  MropePositions out;
  out.positions.resize(ids.size());
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  int64_t counter = 0, max_pos = -1;
  size_t next_image = 0;
  int64_t i = 0;
  const int64_t n = static_cast<int64_t>(ids.size());
  auto set = [&](int64_t at, int64_t t, int64_t h, int64_t w) {
    out.positions[static_cast<size_t>(at)] = {static_cast<int32_t>(t), static_cast<int32_t>(h),
                                              static_cast<int32_t>(w)};
    max_pos = std::max({max_pos, t, h, w});
  };
  while (i < n) {
    if (next_image < images.size() && images[next_image].first_token == i) {
      const ImageSpan& img = images[next_image];
      if (img.rows <= 0 || img.cols <= 0 || i + img.num_tokens() > n) {
        return absl::InvalidArgumentError(
            absl::StrCat("image ", next_image, " (", img.rows, "x", img.cols, " tokens at index ",
                         i, ") does not fit the prompt of ", n, " tokens"));
      }
      if (counter + std::max(img.rows, img.cols) > kMax) {
        return absl::InvalidArgumentError("prompt positions overflow int32");
      }
      for (int64_t r = 0; r < img.rows; ++r) {
        for (int64_t c = 0; c < img.cols; ++c, ++i) {
          if (ids[static_cast<size_t>(i)] != image_token_id) {
            return absl::InvalidArgumentError(absl::StrCat(
                "image ", next_image, ": prompt index ", i, " is token ",
                ids[static_cast<size_t>(i)], ", not the image token ", image_token_id));
          }
          set(i, counter, counter + r, counter + c);
        }
      }
      counter += std::max(img.rows, img.cols);
      ++next_image;
      continue;
    }
    if (ids[static_cast<size_t>(i)] == image_token_id) {
      return absl::InvalidArgumentError(
          absl::StrCat("image token at prompt index ", i, " belongs to no image"));
    }
    if (next_image < images.size() && images[next_image].first_token < i) {
      return absl::InvalidArgumentError(
          absl::StrCat("image ", next_image, " starts at index ", images[next_image].first_token,
                       ", inside or before an earlier image or out of order"));
    }
    if (counter >= kMax) return absl::InvalidArgumentError("prompt positions overflow int32");
    set(i, counter, counter, counter);
    ++counter;
    ++i;
  }
  if (next_image != images.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        images.size() - next_image, " image(s) start beyond the prompt of ", n, " tokens"));
  }
  out.position_delta = static_cast<int32_t>(max_pos + 1 - n);
  return out;
}

}  // namespace tpserve::vision
