#include "ops/core/tensor_view.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tpserve::ops {
namespace {

template <typename View>
View SliceImpl(const View& v, int d, int64_t begin, int64_t end) {
  TPS_CHECK(d >= 0 && d < v.rank(), "Slice: dim out of range");
  TPS_CHECK(begin >= 0 && begin <= end && end <= v.dim(d), "Slice: range out of bounds");
  View out = v;
  out.data = v.At(d == 0 ? begin : 0, d == 1 ? begin : 0, d == 2 ? begin : 0, d == 3 ? begin : 0);
  out.shape.set_dim(d, end - begin);
  return out;
}

template <typename View>
View ReshapeImpl(const View& v, const Shape& s) {
  TPS_CHECK(v.is_contiguous(), "Reshape needs a contiguous view");
  TPS_CHECK(s.num_elements() == v.num_elements(), "Reshape must keep the element count");
  View out = v;
  out.shape = s;
  out.strides = internal::ContiguousStrides(s);
  return out;
}

}  // namespace

std::string Shape::ToString() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) absl::StrAppend(&s, i ? ", " : "", dims_[static_cast<size_t>(i)]);
  return s + "]";
}

TensorView TensorView::Slice(int d, int64_t begin, int64_t end) const {
  return SliceImpl(*this, d, begin, end);
}
TensorView TensorView::Reshape(const Shape& s) const { return ReshapeImpl(*this, s); }
ConstTensorView ConstTensorView::Slice(int d, int64_t begin, int64_t end) const {
  return SliceImpl(*this, d, begin, end);
}
ConstTensorView ConstTensorView::Reshape(const Shape& s) const { return ReshapeImpl(*this, s); }

std::string DescribeView(const ConstTensorView& v) {
  std::string strides;
  for (int i = 0; i < v.rank(); ++i) absl::StrAppend(&strides, i ? ", " : "", v.stride(i));
  return absl::StrCat(std::string(DTypeName(v.dtype)), v.shape.ToString(), "{", strides, "}");
}

}  // namespace tpserve::ops
