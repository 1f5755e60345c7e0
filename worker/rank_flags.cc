#include "worker/rank_flags.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace tpserve::worker {

absl::StatusOr<std::optional<DType>> ParseKvDType(std::string_view text, std::string_view flag) {
  if (text.empty()) return std::optional<DType>();
  if (text == "f32") return std::optional<DType>(DType::kF32);
  if (text == "bf16") return std::optional<DType>(DType::kBF16);
  return absl::InvalidArgumentError(absl::StrCat(absl::string_view(flag.data(), flag.size()),
                                                 " must be f32 or bf16, got ", EchoValue(text)));
}

absl::StatusOr<model::ParallelLayout> GetParallelLayout(const CommandLine& cl,
                                                        const IntFlag& size_flag,
                                                        const IntFlag* rank_flag) {
  absl::StatusOr<int64_t> size = cl.Get(size_flag);
  if (!size.ok()) return size.status();
  model::ParallelLayout layout{.tp_size = static_cast<int>(*size)};
  std::string flags = FlagName(size_flag.name);
  if (rank_flag != nullptr) {
    absl::StatusOr<int64_t> rank = cl.Get(*rank_flag);
    if (!rank.ok()) return rank.status();
    layout.tp_rank = static_cast<int>(*rank);
    flags = absl::StrCat(FlagName(rank_flag->name), ", ", flags);
  }
  if (absl::Status s = layout.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(flags, ": ", s.message()));
  }
  return layout;
}

std::string DefaultModelName(const std::string& model_dir) {
  const std::filesystem::path dir = std::filesystem::path(model_dir).lexically_normal();
  std::string name = dir.filename().string();
  if (name.empty()) name = dir.parent_path().filename().string();
  return name;
}

}  // namespace tpserve::worker
