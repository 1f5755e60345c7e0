// DeviceBuffer: an owning, move-only allocation on one backend's device.
#ifndef TPSERVE_OPS_CORE_DEVICE_BUFFER_H_
#define TPSERVE_OPS_CORE_DEVICE_BUFFER_H_

#include <cstddef>
#include <functional>
#include <utility>

#include "ops/core/tensor_view.h"

namespace tpserve::ops {

class DeviceBuffer {
 public:
  using Deleter = std::function<void(void*)>;

  DeviceBuffer() = default;
  DeviceBuffer(void* data, size_t bytes, Deleter deleter)
      : data_(data), bytes_(bytes), deleter_(std::move(deleter)) {}
  ~DeviceBuffer() { Reset(); }

  DeviceBuffer(DeviceBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        bytes_(std::exchange(o.bytes_, 0)),
        deleter_(std::move(o.deleter_)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      Reset();
      data_ = std::exchange(o.data_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
      deleter_ = std::move(o.deleter_);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return data_; }
  size_t size() const { return bytes_; }
  bool empty() const { return data_ == nullptr; }

  // A contiguous view of the first shape.num_elements() elements.
  TensorView View(DType dtype, const Shape& shape) const {
    TPS_CHECK(static_cast<size_t>(shape.num_elements()) * DTypeSize(dtype) <= bytes_,
              "DeviceBuffer::View larger than the buffer");
    return TensorView(data_, dtype, shape);
  }

 private:
  void Reset() {
    if (data_ != nullptr && deleter_) deleter_(data_);
    data_ = nullptr;
    bytes_ = 0;
  }

  void* data_ = nullptr;
  size_t bytes_ = 0;
  Deleter deleter_;
};

}  // namespace tpserve::ops

#endif  // TPSERVE_OPS_CORE_DEVICE_BUFFER_H_
