// tpserve tokenize / detokenize: text to ids and back with a model directory's tokenizer.json.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "coordinator/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"
#include "ops/base/status_macros.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

namespace tpserve::cli {
namespace {

constexpr char kTokenizeHelp[] =
    "usage: tpserve tokenize --model DIR (--text TEXT | --file FILE) [--json]\n"
    "\n"
    "  --model DIR     model directory with tokenizer.json (or the tokenizer.json itself)\n"
    "  --text TEXT     text to encode (UTF-8; added tokens such as <|im_start|> are recognised)\n"
    "  --file FILE     encode the bytes of FILE ('-': standard input)\n"
    "  --json          print {\"ids\": [...]} instead of space-separated ids\n";

constexpr char kDetokenizeHelp[] =
    "usage: tpserve detokenize --model DIR --ids 1,2,3 [--skip-special] [--json]\n"
    "\n"
    "  --model DIR     model directory with tokenizer.json (or the tokenizer.json itself)\n"
    "  --ids IDS       token ids separated by commas or spaces\n"
    "  --skip-special  leave out special tokens (<|im_end|>, ...)\n"
    "  --json          print {\"text\": \"...\"} instead of the text and a newline\n";

absl::StatusOr<std::unique_ptr<tokenizer::Tokenizer>> LoadTokenizer(const std::string& model) {
  if (model.size() >= 5 && model.compare(model.size() - 5, 5, ".json") == 0) {
    return tokenizer::Tokenizer::FromFile(model);
  }
  return tokenizer::Tokenizer::FromModelDir(model);
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--file: cannot open ", path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

absl::Status RunTokenize(const std::vector<std::string>& argv) {
  TPS_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"model", "text", "file"}, {"json", "help"}));
  if (args.Bool("help")) {
    std::fputs(kTokenizeHelp, stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(std::string model, args.Required("model"));
  if (args.Has("text") == args.Has("file")) {
    return absl::InvalidArgumentError("give exactly one of --text TEXT and --file FILE");
  }
  std::string text;
  if (args.Has("text")) {
    text = args.String("text", "");
  } else {
    TPS_ASSIGN_OR_RETURN(text, ReadInput(args.String("file", "")));
  }
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok, LoadTokenizer(model));
  absl::StatusOr<std::vector<int32_t>> ids = tok->Encode(text);
  if (!ids.ok()) return Annotate(ids.status(), args.Has("text") ? "--text" : "--file");
  if (args.Bool("json")) {
    std::cout << nlohmann::json{{"ids", *ids}}.dump() << std::endl;
  } else {
    std::cout << absl::StrJoin(*ids, " ") << std::endl;
  }
  return absl::OkStatus();
}

absl::Status RunDetokenize(const std::vector<std::string>& argv) {
  TPS_ASSIGN_OR_RETURN(Args args,
                       Args::Parse(argv, {"model", "ids"}, {"json", "skip-special", "help"}));
  if (args.Bool("help")) {
    std::fputs(kDetokenizeHelp, stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(std::string model, args.Required("model"));
  TPS_ASSIGN_OR_RETURN(std::string ids_text, args.Required("ids"));
  std::vector<int32_t> ids;
  for (absl::string_view part :
       absl::StrSplit(ids_text, absl::ByAnyChar(", \t\n"), absl::SkipEmpty())) {
    int32_t id;
    if (!absl::SimpleAtoi(part, &id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--ids: '", part, "' is not a token id (expected e.g. 1,2,3)"));
    }
    ids.push_back(id);
  }
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok, LoadTokenizer(model));
  absl::StatusOr<std::string> text =
      tok->Decode(ids, {.skip_special_tokens = args.Bool("skip-special")});
  if (!text.ok()) return Annotate(text.status(), "--ids");
  if (args.Bool("json")) {
    std::cout << nlohmann::json{{"text", *text}}.dump() << std::endl;
  } else {
    std::cout << *text << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace tpserve::cli
