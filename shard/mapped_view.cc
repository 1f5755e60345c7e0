#include "shard/mapped_view.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "model/tensor_slice.h"
#include "ops/base/status_macros.h"

namespace tpserve::shard {
namespace {

// Errors are "<file>: tensor '<name>' <dtype[shape]>: <problem>", as model/'s.
absl::Status ViewError(const model::TensorInfo& t, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(t.file, ": tensor '", t.name, "' ", t.Describe(), ": ",
                   absl::string_view(problem.data(), problem.size())));
}

absl::StatusOr<MappedTensorView> MakeView(const model::TensorInfo& t, const std::byte* data,
                                          const ops::Shape& shape) {
  TPS_ASSIGN_OR_RETURN(DType dtype, t.RequireDType());
  if (reinterpret_cast<uintptr_t>(data) % DTypeSize(dtype) != 0) {
    return ViewError(t, absl::StrCat("data is not ", DTypeSize(dtype),
                                     "-byte aligned in the file, so it cannot be viewed in "
                                     "place (copy it instead)"));
  }
  return MappedTensorView{ops::ConstTensorView(data, dtype, shape), t.owner};
}

}  // namespace

absl::StatusOr<MappedTensorView> RowSliceView(const model::TensorInfo& t, int64_t begin,
                                              int64_t end) {
  TPS_RETURN_IF_ERROR(model::SliceNumElements(t, 0, begin, end).status());
  if (t.shape.size() > static_cast<size_t>(ops::kMaxDims)) {
    return ViewError(t, absl::StrCat("rank ", t.shape.size(), " exceeds the ", ops::kMaxDims,
                                     " dims of a tensor view (use ReshapedView or a copy)"));
  }
  TPS_ASSIGN_OR_RETURN(DType dtype, t.RequireDType());
  ops::Shape shape;  // ops::Shape is built from an initializer list only
  switch (t.shape.size()) {
    case 1:
      shape = ops::Shape{end - begin};
      break;
    case 2:
      shape = ops::Shape{end - begin, t.shape[1]};
      break;
    case 3:
      shape = ops::Shape{end - begin, t.shape[1], t.shape[2]};
      break;
    default:
      shape = ops::Shape{end - begin, t.shape[1], t.shape[2], t.shape[3]};
      break;
  }
  int64_t row_elements = 1;
  for (size_t i = 1; i < t.shape.size(); ++i) row_elements *= t.shape[i];
  const size_t offset = static_cast<size_t>(begin * row_elements) * DTypeSize(dtype);
  return MakeView(t, t.data + offset, shape);
}

absl::StatusOr<MappedTensorView> ReshapedView(const model::TensorInfo& t, const ops::Shape& shape) {
  if (shape.num_elements() != t.num_elements()) {
    return ViewError(t, absl::StrCat("cannot view as ", shape.ToString(), " (",
                                     shape.num_elements(), " elements)"));
  }
  return MakeView(t, t.data, shape);
}

}  // namespace tpserve::shard
