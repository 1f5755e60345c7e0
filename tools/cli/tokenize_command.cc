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
#include "ops/base/flags.h"
#include "ops/base/status_macros.h"
#include "tools/cli/commands.h"

namespace tpserve::cli {
namespace {

constexpr StringFlag kTokenizerModelFlag{
    .name = "model",
    .value_name = "DIR",
    .help = "model directory with tokenizer.json (or the tokenizer.json itself)"};
constexpr StringFlag kTextFlag{
    .name = "text",
    .value_name = "TEXT",
    .help = "text to encode (UTF-8; added tokens such as <|im_start|> are recognised)"};
constexpr StringFlag kFileFlag{
    .name = "file", .value_name = "FILE", .help = "encode the bytes of FILE ('-': standard input)"};
constexpr BoolFlag kTokenizeJsonFlag{
    .name = "json", .help = "print {\"ids\": [...]} instead of space-separated ids"};
constexpr StringFlag kIdsFlag{
    .name = "ids", .value_name = "IDS", .help = "token ids separated by commas or spaces"};
constexpr BoolFlag kSkipSpecialFlag{.name = "skip-special",
                                    .help = "leave out special tokens (<|im_end|>, ...)"};
constexpr BoolFlag kDetokenizeJsonFlag{
    .name = "json", .help = "print {\"text\": \"...\"} instead of the text and a newline"};

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
  const FlagList flags = {kTokenizerModelFlag, kTextFlag, kFileFlag, kTokenizeJsonFlag};
  TPS_ASSIGN_OR_RETURN(CommandLine args, CommandLine::Parse(argv, flags));
  if (args.help()) {
    std::fputs(absl::StrCat("usage: tpserve tokenize --model DIR (--text TEXT | --file FILE) "
                            "[--json]\n\n",
                            FlagUsage(flags))
                   .c_str(),
               stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(std::string model, args.Required(kTokenizerModelFlag));
  if (args.Has(kTextFlag) == args.Has(kFileFlag)) {
    return absl::InvalidArgumentError("give exactly one of --text TEXT and --file FILE");
  }
  std::string text;
  if (args.Has(kTextFlag)) {
    text = args.Get(kTextFlag);
  } else {
    TPS_ASSIGN_OR_RETURN(text, ReadInput(args.Get(kFileFlag)));
  }
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok, LoadTokenizer(model));
  absl::StatusOr<std::vector<int32_t>> ids = tok->Encode(text);
  if (!ids.ok()) return Annotate(ids.status(), args.Has(kTextFlag) ? "--text" : "--file");
  if (args.Get(kTokenizeJsonFlag)) {
    std::cout << nlohmann::json{{"ids", *ids}}.dump() << std::endl;
  } else {
    std::cout << absl::StrJoin(*ids, " ") << std::endl;
  }
  return absl::OkStatus();
}

absl::Status RunDetokenize(const std::vector<std::string>& argv) {
  const FlagList flags = {kTokenizerModelFlag, kIdsFlag, kSkipSpecialFlag, kDetokenizeJsonFlag};
  TPS_ASSIGN_OR_RETURN(CommandLine args, CommandLine::Parse(argv, flags));
  if (args.help()) {
    std::fputs(absl::StrCat("usage: tpserve detokenize --model DIR --ids 1,2,3 [flags]\n\n",
                            FlagUsage(flags))
                   .c_str(),
               stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(std::string model, args.Required(kTokenizerModelFlag));
  TPS_ASSIGN_OR_RETURN(std::string ids_text, args.Required(kIdsFlag));
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
      tok->Decode(ids, {.skip_special_tokens = args.Get(kSkipSpecialFlag)});
  if (!text.ok()) return Annotate(text.status(), "--ids");
  if (args.Get(kDetokenizeJsonFlag)) {
    std::cout << nlohmann::json{{"text", *text}}.dump() << std::endl;
  } else {
    std::cout << *text << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace tpserve::cli
