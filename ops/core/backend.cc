#include "ops/core/backend.h"

namespace tpserve::ops {

std::string_view OpKindName(OpKind op) {
  switch (op) {
    case OpKind::kMatMul:
      return "MatMul";
    case OpKind::kEmbedding:
      return "Embedding";
    case OpKind::kRmsNorm:
      return "RmsNorm";
    case OpKind::kL2Norm:
      return "L2Norm";
    case OpKind::kGatedRmsNorm:
      return "GatedRmsNorm";
    case OpKind::kRope:
      return "Rope";
    case OpKind::kStoreKv:
      return "StoreKv";
    case OpKind::kAttention:
      return "Attention";
    case OpKind::kCausalConv1d:
      return "CausalConv1d";
    case OpKind::kDeltaNetGates:
      return "DeltaNetGates";
    case OpKind::kGatedDeltaNet:
      return "GatedDeltaNet";
    case OpKind::kSiluMul:
      return "SiluMul";
    case OpKind::kSigmoidMul:
      return "SigmoidMul";
    case OpKind::kAdd:
      return "Add";
    case OpKind::kSoftmax:
      return "Softmax";
    case OpKind::kLayerNorm:
      return "LayerNorm";
    case OpKind::kGelu:
      return "Gelu";
    case OpKind::kRope2d:
      return "Rope2d";
    case OpKind::kSegmentAttention:
      return "SegmentAttention";
  }
  return "?";
}

}  // namespace tpserve::ops
