#include "tools/cli/default_model.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "tools/model/random_model.h"

namespace tpserve::cli {
namespace {

namespace fs = std::filesystem;

std::string Home() {
  const char* h = std::getenv("HOME");
  return h != nullptr ? h : "/tmp";
}

bool IsModelDir(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "config.json", ec) && fs::exists(dir / "tokenizer.json", ec) &&
         (fs::exists(dir / "model.safetensors", ec) ||
          fs::exists(dir / "model.safetensors.index.json", ec));
}

// Downloads `repo` with the files a served model needs, using curl against the hub. Fails fast
// (a 10 s probe) on machines without access.
absl::StatusOr<std::string> Download(const std::string& repo, const fs::path& into) {
  const std::string base = absl::StrCat("https://huggingface.co/", repo, "/resolve/main/");
  if (std::system(absl::StrCat("curl -sfL -m 10 -o /dev/null ", base, "config.json").c_str()) !=
      0) {
    return absl::UnavailableError(absl::StrCat("cannot reach huggingface.co for ", repo));
  }
  std::error_code ec;
  fs::create_directories(into, ec);
  for (const char* file : {"config.json", "generation_config.json", "tokenizer.json",
                           "tokenizer_config.json", "chat_template.jinja", "model.safetensors"}) {
    const std::string cmd =
        absl::StrCat("curl -sfL --retry 3 -o '", (into / file).string(), ".part' ", base, file);
    if (std::system(cmd.c_str()) != 0) {
      if (std::string(file) == "chat_template.jinja" ||
          std::string(file) == "tokenizer_config.json") {
        continue;  // optional
      }
      return absl::UnavailableError(absl::StrCat("downloading ", repo, "/", file, " failed"));
    }
    fs::rename(into / (std::string(file) + ".part"), into / file, ec);
  }
  return into.string();
}

}  // namespace

std::string FindInHuggingFaceCache(const std::string& repo) {
  std::vector<fs::path> roots;
  if (const char* c = std::getenv("HF_HUB_CACHE")) roots.emplace_back(c);
  if (const char* h = std::getenv("HF_HOME")) roots.emplace_back(fs::path(h) / "hub");
  roots.emplace_back(fs::path(Home()) / ".cache" / "huggingface" / "hub");
  const std::string folder = "models--" + absl::StrReplaceAll(repo, {{"/", "--"}});
  for (const fs::path& root : roots) {
    std::error_code ec;
    const fs::path snapshots = root / folder / "snapshots";
    if (!fs::is_directory(snapshots, ec)) continue;
    for (const auto& entry : fs::directory_iterator(snapshots, ec)) {
      if (IsModelDir(entry.path())) return entry.path().string();
    }
  }
  return "";
}

absl::StatusOr<ResolvedModel> ResolveDefaultModel(const std::string& preset) {
  ResolvedModel out;
  out.name = "qwen3.5-0.8b";
  if (preset == "0.8b") {
    if (std::string dir = FindInHuggingFaceCache(kDefaultModelRepo); !dir.empty()) {
      out.dir = dir;
      out.source = "cache";
      return out;
    }
    const fs::path downloaded = fs::path(Home()) / ".cache" / "tpserve" / "models" / "Qwen3.5-0.8B";
    if (IsModelDir(downloaded)) {
      out.dir = downloaded.string();
      out.source = "download";
      return out;
    }
    absl::StatusOr<std::string> dir = Download(kDefaultModelRepo, downloaded);
    if (dir.ok()) {
      out.dir = *dir;
      out.source = "download";
      return out;
    }
    TPS_LOG(kInfo) << dir.status().message();
  }
  // A random stand-in of the same shape, made once and kept.
  const fs::path random = fs::path(Home()) / ".cache" / "tpserve" / "models" /
                          absl::StrCat("qwen3.5-", preset, "-random");
  out.dir = random.string();
  out.random = true;
  out.source = "random";
  if (preset != "0.8b") out.name = absl::StrCat("qwen3.5-", preset, "-random");
  if (!IsModelDir(random)) {
    tools::RandomModelOptions opts;
    opts.output_dir = random.string();
    opts.preset = preset;
    TPS_RETURN_IF_ERROR(tools::WriteRandomQwen35Model(opts));
    TPS_RETURN_IF_ERROR(WriteRandomModelCompanions(random.string()));
  }
  return out;
}

}  // namespace tpserve::cli
