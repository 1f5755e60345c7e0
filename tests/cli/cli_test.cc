// The tpserve binary, run as a user would: exit codes, one-line errors, --json, --logits-out.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "ops/base/npy.h"
#include "tests/shard/golden_model.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"

namespace tpserve {
namespace {

using ::testing::HasSubstr;

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

RunResult RunTpserve(const std::string& args) {
  const char* bin = TPS_TPSERVE_BIN;
  const std::string dir = testing::MakeTempDir();
  const std::string err_path = dir + "/stderr";
  const std::string cmd = absl::StrCat(bin ? bin : "tpserve", " ", args, " 2>", err_path);
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (FILE* e = fopen(err_path.c_str(), "r")) {
    while ((n = fread(buf.data(), 1, buf.size(), e)) > 0) r.err.append(buf.data(), n);
    fclose(e);
  }
  return r;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(manifest_, testing::LoadGoldenManifest("tiny_r2_untied"));
  }
  testing::GoldenManifest manifest_;
};

TEST_F(CliTest, GenerateJsonMatchesTransformersGreedy) {
  const testing::GoldenCase& c = manifest_.cases[2];  // p37
  RunResult r = RunTpserve(absl::StrCat("generate --model ", manifest_.model_dir, " --prompt-ids ",
                                        absl::StrJoin(c.prompt, ","),
                                        " --max-tokens 32 --json --ignore-eos"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("tokens").get<std::vector<int32_t>>(), c.greedy_tokens);
  EXPECT_EQ(j.at("finish_reason"), "length");
  EXPECT_GE(j.at("prefill_ms").get<double>(), 0.0);
  EXPECT_GT(j.at("decode_tokens_per_s").get<double>(), 0.0);
}

TEST_F(CliTest, PlainOutputIsTheIdsOnOneLine) {
  const testing::GoldenCase& c = manifest_.cases[1];  // p7
  RunResult r =
      RunTpserve(absl::StrCat("generate --model ", manifest_.model_dir, " --prompt-ids ",
                              absl::StrJoin(c.prompt, ","), " --max-tokens 5 --ignore-eos"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<int32_t> first5(c.greedy_tokens.begin(), c.greedy_tokens.begin() + 5);
  EXPECT_EQ(r.out, absl::StrJoin(first5, " ") + "\n");
}

TEST_F(CliTest, LogitsOutWritesEveryComputedPosition) {
  const testing::GoldenCase& c = manifest_.cases[2];  // p37
  const std::string path = testing::MakeTempDir() + "/logits.npy";
  RunResult r = RunTpserve(absl::StrCat(
      "generate --model ", manifest_.model_dir, " --prompt-ids ", absl::StrJoin(c.prompt, ","),
      " --max-tokens 4 --ignore-eos --prefill-chunk 16 --logits-out ", path));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_OK_AND_ASSIGN(NpyArray a, ReadNpy(path));
  const int64_t p = static_cast<int64_t>(c.prompt.size());
  ASSERT_EQ(a.shape, (std::vector<int64_t>{p + 3, 256}));
  int64_t rows, cols;
  ASSERT_OK_AND_ASSIGN(std::vector<float> prompt_ref,
                       testing::LoadLogits(c.prompt_logits_file, &rows, &cols));
  ASSERT_OK_AND_ASSIGN(std::vector<float> decode_ref,
                       testing::LoadLogits(c.decode_logits_file, &rows, &cols));
  std::vector<float> prompt_got(a.data.begin(), a.data.begin() + p * 256);
  EXPECT_LE(testing::MaxRelError(prompt_got, prompt_ref), 1e-4);
  // Rows p .. p+2 are the logits of decode steps 1..3 (HF decode rows 1..3).
  std::vector<float> decode_got(a.data.begin() + p * 256, a.data.end());
  std::vector<float> decode_want(decode_ref.begin() + 256, decode_ref.begin() + 4 * 256);
  EXPECT_LE(testing::MaxRelError(decode_got, decode_want), 1e-4);
}

TEST_F(CliTest, SameSeedSameTokens) {
  const std::string base = absl::StrCat("generate --model ", manifest_.model_dir,
                                        " --prompt-ids 1,2,3 --max-tokens 24 --ignore-eos"
                                        " --temperature 1.5 --top-k 50 --top-p 0.95 --seed ");
  RunResult a = RunTpserve(base + "7"), b = RunTpserve(base + "7"), c = RunTpserve(base + "8");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
}

TEST_F(CliTest, BadInputExitsNonZeroWithOneClearLine) {
  struct Case {
    std::string args;
    std::string message;
  };
  const std::string m = manifest_.model_dir;
  const std::vector<Case> cases = {
      {"generate --prompt-ids 1", "missing required flag --model"},
      {"generate --model " + m, "--prompt-ids"},
      {"generate --model " + m + " --prompt-ids 1,x", "'x' is not an integer"},
      {"generate --model " + m + " --prompt-ids 1 --max-tokens 0",
       "--max-tokens: must be an integer in [1, 16777216], got '0'"},
      {"generate --model " + m + " --prompt-ids 1 --max-context 0",
       "--max-context: must be an integer in [1, 16777216], got '0'"},
      {"generate --model " + m + " --prompt-ids 1 --tp 65",
       "--tp: must be an integer in [1, 64], got '65'"},
      {"generate --model " + m + " --prompt-ids 1 --kv-dtype f16",
       "--kv-dtype must be f32 or bf16, got 'f16'"},
      {"generate --model " + m + " --prompt-ids 1 --top-p 0", "sampling: top_p: must be in (0, 1]"},
      {"generate --model " + m + " --prompt-ids 1 --json=1", "--json: takes no value"},
      {"generate --model " + m + " --prompt-ids 1 --temperature -1", "temperature"},
      {"generate --model " + m + " --prompt-ids 1 --bogus 3", "unknown flag --bogus"},
      {"generate --model " + m + " --prompt-ids 1,999", "token id 999"},
      {"generate --model /nonexistent/model --prompt-ids 1", "/nonexistent/model"},
      {"frobnicate", "unknown command 'frobnicate'"},
  };
  for (const Case& c : cases) {
    RunResult r = RunTpserve(c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.args;
    if (c.args != "frobnicate") {
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << "\n" << r.err;
    }
  }
}

// A copy of a golden model directory (links to its files) with a byte-level tokenizer.json whose
// ids are the byte values (no merges), so text prompts fit the tiny model's 256-token vocabulary.
// Its chat tokens get ids 256.. (outside that vocabulary).
std::string ModelDirWithByteTokenizer(const std::string& model_dir) {
  const std::string dir = testing::MakeTempDir();
  for (const char* name : {"config.json", "generation_config.json", "model.safetensors.index.json",
                           "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                           "model-00003-of-00003.safetensors", "model.safetensors"}) {
    const std::string from = model_dir + "/" + name;
    if (FILE* f = fopen(from.c_str(), "r")) {
      fclose(f);
      if (symlink(from.c_str(), (dir + "/" + name).c_str()) != 0) return "";
    }
  }
  nlohmann::json vocab = nlohmann::json::object();
  int next = 256;
  for (int b = 0; b < 256; ++b) {  // GPT-2's byte -> character map
    const bool self =
        (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const int cp = self ? b : next++;
    std::string ch;
    if (cp < 0x80) {
      ch.push_back(static_cast<char>(cp));
    } else {
      ch.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      ch.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    vocab[ch] = b;
  }
  nlohmann::json added = nlohmann::json::array();
  int id = 256;
  for (const char* t : {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"}) {
    const bool special = std::string(t).find('|') != std::string::npos;
    added.push_back({{"id", id++},
                     {"content", t},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", special}});
  }
  const nlohmann::json tok = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  FILE* f = fopen((dir + "/tokenizer.json").c_str(), "w");
  if (f == nullptr) return "";
  const std::string text = tok.dump();
  fwrite(text.data(), 1, text.size(), f);
  fclose(f);
  return dir;
}

TEST_F(CliTest, TokenizeAndDetokenize) {
  const std::string vocab = testing::SourceDir() + "/tests/unit/tokenizer/testdata/qwen35_style";
  RunResult r = RunTpserve("tokenize --model " + vocab +
                           " --text '<|im_start|>user\nHi there<|im_end|>' --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<int32_t> ids =
      nlohmann::json::parse(r.out).at("ids").get<std::vector<int32_t>>();
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids.front(), 248045);  // <|im_start|>: the Qwen3.5 id
  EXPECT_EQ(ids.back(), 248046);   // <|im_end|>
  RunResult plain = RunTpserve("tokenize --model " + vocab + " --text 'Hi there'");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  RunResult back = RunTpserve("detokenize --model " + vocab + "/tokenizer.json --ids '" +
                              plain.out.substr(0, plain.out.size() - 1) + "'");
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(back.out, "Hi there\n");
  RunResult all =
      RunTpserve("detokenize --model " + vocab + " --json --ids " + absl::StrJoin(ids, ","));
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(nlohmann::json::parse(all.out).at("text"), "<|im_start|>user\nHi there<|im_end|>");
  RunResult skip = RunTpserve("detokenize --model " + vocab + " --skip-special --ids " +
                              absl::StrJoin(ids, ","));
  EXPECT_EQ(skip.out, "user\nHi there\n");
}

TEST_F(CliTest, TokenizerErrorsAreOneClearLine) {
  const std::string vocab = testing::SourceDir() + "/tests/unit/tokenizer/testdata/qwen35_style";
  const std::string bad_file = testing::MakeTempDir() + "/bad.txt";
  if (FILE* f = fopen(bad_file.c_str(), "w")) {
    fputs("ok \xC3(", f);
    fclose(f);
  }
  struct Case {
    std::string args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"tokenize --text hi", "missing required flag --model"},
      {"tokenize --model " + vocab, "give exactly one of --text TEXT and --file FILE"},
      {"tokenize --model " + vocab + " --file " + bad_file,
       "--file: invalid UTF-8 at byte offset 3"},
      {"tokenize --model /nonexistent --text hi", "/nonexistent/tokenizer.json"},
      {"detokenize --model " + vocab + " --ids 1,x", "'x' is not a token id"},
      {"detokenize --model " + vocab + " --ids 1,300000",
       "--ids: ids[1]: token id 300000 is not in the vocabulary"},
      {"generate --model " + manifest_.model_dir + " --prompt hi", "tokenizer.json"},
      {"generate --model " + manifest_.model_dir + " --prompt-ids 1 --chat", "need --prompt TEXT"},
  };
  for (const Case& c : cases) {
    RunResult r = RunTpserve(c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << "\n" << r.err;
  }
}

// --prompt TEXT encodes the text, generates, and prints the generated text: the same tokens as
// --prompt-ids with the text's ids, read back by the tokenizer.
TEST_F(CliTest, GenerateFromTextPrintsText) {
  const std::string dir = ModelDirWithByteTokenizer(manifest_.model_dir);
  ASSERT_FALSE(dir.empty());
  RunResult by_ids = RunTpserve("generate --model " + dir +
                                " --prompt-ids 72,105,33 --max-tokens 12 --ignore-eos");
  ASSERT_EQ(by_ids.exit_code, 0) << by_ids.err;
  RunResult by_text =
      RunTpserve("generate --model " + dir + " --prompt 'Hi!' --max-tokens 12 --ignore-eos --json");
  ASSERT_EQ(by_text.exit_code, 0) << by_text.err;
  const nlohmann::json j = nlohmann::json::parse(by_text.out);
  std::vector<int32_t> tokens = j.at("tokens").get<std::vector<int32_t>>();
  EXPECT_EQ(absl::StrJoin(tokens, " ") + "\n", by_ids.out);
  RunResult text =
      RunTpserve("detokenize --model " + dir + " --json --ids " + absl::StrJoin(tokens, ","));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  // Generated bytes need not be UTF-8; both paths replace broken sequences the same way.
  EXPECT_EQ(j.at("text"), nlohmann::json::parse(text.out).at("text"));
  RunResult plain =
      RunTpserve("generate --model " + dir + " --prompt 'Hi!' --max-tokens 12 --ignore-eos");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, j.at("text").get<std::string>() + "\n");
}

// --chat renders the chat template; this tiny model's 256-token vocabulary has no room for the
// chat tokens, so the run stops with the model's clear error about the id.
TEST_F(CliTest, GenerateChatFlags) {
  const std::string dir = ModelDirWithByteTokenizer(manifest_.model_dir);
  ASSERT_FALSE(dir.empty());
  RunResult chat =
      RunTpserve("generate --model " + dir + " --prompt hi --chat --system 'Be brief.' --no-think");
  EXPECT_NE(chat.exit_code, 0);
  EXPECT_THAT(chat.err, HasSubstr("token id 257"));  // <|im_start|>
  EXPECT_EQ(std::count(chat.err.begin(), chat.err.end(), '\n'), 1) << chat.err;
  RunResult system = RunTpserve("generate --model " + dir + " --prompt hi --system x");
  EXPECT_NE(system.exit_code, 0);
  EXPECT_THAT(system.err, HasSubstr("--system, --think and --no-think need --chat"));
  RunResult both = RunTpserve("generate --model " + dir + " --prompt hi --chat --think --no-think");
  EXPECT_THAT(both.err, HasSubstr("--think and --no-think are exclusive"));
  RunResult ids = RunTpserve("generate --model " + dir + " --prompt hi --prompt-ids 1");
  EXPECT_THAT(ids.err, HasSubstr("--prompt and --prompt-ids are exclusive"));
}

TEST_F(CliTest, InspectPrintsMemoryNeeds) {
  RunResult r = RunTpserve("inspect --model " + manifest_.model_dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("5 layers: 3 linear_attention + 2 full_attention"));
  EXPECT_THAT(r.out, HasSubstr("kv cache"));
  EXPECT_THAT(r.out, HasSubstr("deltanet state"));
}

// inspect estimates the KV cache in the dtype the ranks and generate allocate (model/kv_dtype.h):
// f32 for f32 weights, bf16 for bf16 ones, --kv-dtype when given.
TEST_F(CliTest, InspectKvDTypeIsTheOneGenerateUses) {
  auto kv_dtype = [](const std::string& args) -> std::string {
    RunResult r = RunTpserve("inspect --json " + args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded()) return "unparsable: " + r.out;
    return j.at("memory").at("kv_dtype").get<std::string>();
  };
  const std::string f32 = manifest_.model_dir;  // tiny_r2_untied: f32 weights
  ASSERT_OK_AND_ASSIGN(const testing::GoldenManifest bf16,
                       testing::LoadGoldenManifest("tiny_r3_bf16"));
  EXPECT_EQ(kv_dtype("--model " + f32), "f32");
  EXPECT_EQ(kv_dtype("--model " + bf16.model_dir), "bf16");
  EXPECT_EQ(kv_dtype("--model " + f32 + " --kv-dtype bf16"), "bf16");
  EXPECT_EQ(kv_dtype("--model " + f32 + " --weight-dtype bf16"), "bf16");
  // The text report says the same.
  EXPECT_THAT(RunTpserve("inspect --model " + f32).out, HasSubstr("kv cache f32"));
}

}  // namespace
}  // namespace tpserve
