// Non-owning views of device memory: a pointer, a dtype, up to four dims and their strides.
//
// `data` is an address in the backend's address space: a host pointer for the CPU backend, a
// device pointer for CUDA (the Vulkan backend resolves it to a buffer and offset). Strides are in
// elements. Unless an op's Args comment says otherwise, ops accept views whose innermost dimension
// is contiguous (stride 1) and whose outer dims have arbitrary strides, so a head of a fused
// projection output (for example the query half of q_proj's per-head [query | gate]) is a view, not
// a copy.
#ifndef TPSERVE_OPS_CORE_TENSOR_VIEW_H_
#define TPSERVE_OPS_CORE_TENSOR_VIEW_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "ops/base/check.h"
#include "ops/base/dtype.h"

namespace tpserve::ops {

inline constexpr int kMaxDims = 4;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) {
    TPS_CHECK(dims.size() <= kMaxDims, "Shape has at most 4 dims");
    for (int64_t d : dims) dims_[rank_++] = d;
  }

  int rank() const { return rank_; }
  int64_t dim(int i) const { return dims_[static_cast<size_t>(i)]; }
  void set_dim(int i, int64_t v) { dims_[static_cast<size_t>(i)] = v; }
  int64_t num_elements() const {
    int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<size_t>(i)];
    return n;
  }
  bool operator==(const Shape& o) const {
    if (rank_ != o.rank_) return false;
    for (int i = 0; i < rank_; ++i)
      if (dims_[static_cast<size_t>(i)] != o.dims_[static_cast<size_t>(i)]) return false;
    return true;
  }
  std::string ToString() const;  // "[2, 3, 4]"

 private:
  std::array<int64_t, kMaxDims> dims_{};
  int rank_ = 0;
};

namespace internal {

template <typename Ptr>
struct ViewBase {
  Ptr data = nullptr;
  DType dtype = DType::kF32;
  Shape shape;
  std::array<int64_t, kMaxDims> strides{};  // elements

  int rank() const { return shape.rank(); }
  int64_t dim(int i) const { return shape.dim(i); }
  int64_t stride(int i) const { return strides[static_cast<size_t>(i)]; }
  int64_t num_elements() const { return shape.num_elements(); }
  bool empty() const { return data == nullptr; }
  size_t element_size() const { return DTypeSize(dtype); }

  bool is_contiguous() const {
    int64_t expect = 1;
    for (int i = shape.rank() - 1; i >= 0; --i) {
      if (shape.dim(i) != 1 && stride(i) != expect) return false;
      expect *= shape.dim(i);
    }
    return true;
  }
  // True when the innermost dim is contiguous (the default requirement of ops).
  bool inner_contiguous() const {
    return rank() == 0 || dim(rank() - 1) <= 1 || stride(rank() - 1) == 1;
  }

  template <typename T>
  T* As() const {
    return static_cast<T*>(data);
  }
  // Address of element (i0, i1, i2, i3); missing trailing indices are 0.
  Ptr At(int64_t i0, int64_t i1 = 0, int64_t i2 = 0, int64_t i3 = 0) const {
    const int64_t off = i0 * strides[0] + i1 * strides[1] + i2 * strides[2] + i3 * strides[3];
    using Byte =
        std::conditional_t<std::is_const_v<std::remove_pointer_t<Ptr>>, const std::byte, std::byte>;
    return static_cast<Byte*>(data) + off * static_cast<int64_t>(element_size());
  }
};

inline std::array<int64_t, kMaxDims> ContiguousStrides(const Shape& shape) {
  std::array<int64_t, kMaxDims> s{};
  int64_t acc = 1;
  for (int i = shape.rank() - 1; i >= 0; --i) {
    s[static_cast<size_t>(i)] = acc;
    acc *= shape.dim(i);
  }
  return s;
}

}  // namespace internal

struct ConstTensorView;

struct TensorView : internal::ViewBase<void*> {
  TensorView() = default;
  TensorView(void* d, DType t, const Shape& s) {
    data = d;
    dtype = t;
    shape = s;
    strides = internal::ContiguousStrides(s);
  }
  TensorView(void* d, DType t, const Shape& s, std::array<int64_t, kMaxDims> st) {
    data = d;
    dtype = t;
    shape = s;
    strides = st;
  }

  // Narrows dim `d` to [begin, end). Strides are kept.
  TensorView Slice(int d, int64_t begin, int64_t end) const;
  // Reinterprets a contiguous view with a new shape of the same element count.
  TensorView Reshape(const Shape& s) const;
};

struct ConstTensorView : internal::ViewBase<const void*> {
  ConstTensorView() = default;
  ConstTensorView(const TensorView& v) {  // NOLINT: implicit on purpose (mutable -> const)
    data = v.data;
    dtype = v.dtype;
    shape = v.shape;
    strides = v.strides;
  }
  ConstTensorView(const void* d, DType t, const Shape& s) {
    data = d;
    dtype = t;
    shape = s;
    strides = internal::ContiguousStrides(s);
  }
  ConstTensorView(const void* d, DType t, const Shape& s, std::array<int64_t, kMaxDims> st) {
    data = d;
    dtype = t;
    shape = s;
    strides = st;
  }

  ConstTensorView Slice(int d, int64_t begin, int64_t end) const;
  ConstTensorView Reshape(const Shape& s) const;
};

// "f32[2, 3]{6, 1}" for error messages.
std::string DescribeView(const ConstTensorView& v);

}  // namespace tpserve::ops

#endif  // TPSERVE_OPS_CORE_TENSOR_VIEW_H_
