// ParallelLayout: which tensor-parallel rank this shard is (a value type, derived once).
#ifndef TPSERVE_SHARD_PARALLEL_LAYOUT_H_
#define TPSERVE_SHARD_PARALLEL_LAYOUT_H_

#include <cstdint>

namespace tpserve::shard {

struct ParallelLayout {
  int tp_size = 1;
  int tp_rank = 0;

  // Items [begin, end) owned by this rank when `count` items split evenly. Divisibility is
  // checked once when the model is built (ValidateLayout), so this stays a plain accessor.
  struct Range {
    int64_t begin = 0;
    int64_t end = 0;
    int64_t size() const { return end - begin; }
  };
  Range Split(int64_t count) const {
    const int64_t per_rank = count / tp_size;
    return {tp_rank * per_rank, (tp_rank + 1) * per_rank};
  }
  // Replicated when fewer than tp_size (e.g. KV heads): rank r uses item r * count / tp_size.
  Range SplitOrReplicate(int64_t count) const {
    if (count >= tp_size) return Split(count);
    const int64_t item = static_cast<int64_t>(tp_rank) * count / tp_size;
    return {item, item + 1};
  }
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_PARALLEL_LAYOUT_H_
