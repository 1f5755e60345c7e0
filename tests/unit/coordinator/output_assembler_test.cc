#include "coordinator/output_assembler.h"

#include "coordinator/tokenizer/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "tests/unit/coordinator/coordinator_test_util.h"

namespace tpserve::coordinator {
namespace {

namespace pb = ::tpserve::v1;
namespace cpb = ::tpserve::cluster::v1;
using ::testing::HasSubstr;

struct Collected {
  std::string content, reasoning;
  std::vector<pb::ToolCall> tool_calls;
  std::vector<int32_t> ids;
  int deltas = 0;
  bool finished = false;
  bool stopped_early = false;
};

OutputAssemblerOptions Options(std::vector<std::string> stops = {}, bool reasoning = false) {
  OutputAssemblerOptions o;
  o.tokenizer = &testing::TestTokenizer();
  o.request_id = "r1";
  o.stop_strings = std::move(stops);
  o.starts_in_reasoning = reasoning;
  o.think_start_id = 248068;
  o.think_end_id = 248069;
  o.prompt_tokens = 11;
  return o;
}

Collected Feed(OutputAssembler& out, const std::vector<cpb::GenerateResponse>& responses) {
  Collected c;
  for (const auto& r : responses) {
    absl::StatusOr<OutputAssembler::Step> step = out.Push(r);
    EXPECT_TRUE(step.ok()) << step.status();
    if (!step.ok()) break;
    if (step->delta.has_value()) {
      ++c.deltas;
      c.content += step->delta->content();
      c.reasoning += step->delta->reasoning();
      for (const auto& t : step->delta->tool_calls()) c.tool_calls.push_back(t);
      for (int32_t id : step->delta->token_ids()) c.ids.push_back(id);
    }
    c.finished |= step->finished;
    c.stopped_early |= step->stopped_early;
  }
  return c;
}

TEST(OutputAssemblerTest, SeparatesReasoningFromTheAnswerAndCounts) {
  OutputAssembler out(Options({}, /*reasoning=*/true));
  const std::vector<int32_t> ids =
      testing::Ids("Let me think.\n</think>\n\nHello world!<|im_end|>");
  Collected c = Feed(out, testing::TokenResponses(ids, 1));
  EXPECT_EQ(c.reasoning, "Let me think.");
  EXPECT_EQ(c.content, "Hello world!");
  EXPECT_EQ(c.ids, ids);
  EXPECT_TRUE(c.finished);
  EXPECT_EQ(out.finish_reason(), pb::FINISH_REASON_STOP);
  const pb::Done done = out.MakeDone(0.5, 2.0);
  EXPECT_EQ(done.usage().prompt_tokens(), 11);
  EXPECT_EQ(done.usage().completion_tokens(), static_cast<int>(ids.size()));
  // Everything up to and including </think>.
  const size_t think = testing::Ids("Let me think.\n</think>").size();
  EXPECT_EQ(done.usage().reasoning_tokens(), static_cast<int>(think));
  EXPECT_EQ(done.time_to_first_token_seconds(), 0.5);
}

TEST(OutputAssemblerTest, LeaderCountsWinOverTheAdmittedOnes) {
  OutputAssembler out(Options());
  std::vector<cpb::GenerateResponse> rs = testing::TokenResponses(testing::Ids("Hi"), 1);
  rs.front().set_prompt_tokens(12);
  rs.front().set_cached_tokens(8);
  Feed(out, rs);
  EXPECT_EQ(out.usage().prompt_tokens(), 12);
  EXPECT_EQ(out.usage().cached_tokens(), 8);
}

TEST(OutputAssemblerTest, StopStringEndsTheOutputBeforeIt) {
  OutputAssembler out(Options({"STOP", "never"}));
  const std::vector<int32_t> ids = testing::Ids("Count: one two STOP three four");
  // Without done: the stop string must end it early.
  Collected c = Feed(out, testing::TokenResponses(ids, 1, cpb::GenerateResponse::FINISH_LENGTH,
                                                  /*done=*/false));
  EXPECT_EQ(c.content, "Count: one two");
  EXPECT_THAT(c.content, ::testing::Not(HasSubstr("STOP")));
  EXPECT_TRUE(c.finished);
  EXPECT_TRUE(c.stopped_early);
  EXPECT_EQ(out.finish_reason(), pb::FINISH_REASON_STOP);
  // Ids after the one that completed the stop string are neither sent nor counted.
  EXPECT_LT(c.ids.size(), ids.size());
  EXPECT_EQ(out.usage().completion_tokens(), static_cast<int>(c.ids.size()));
  // Nothing after the end.
  ASSERT_OK_AND_ASSIGN(OutputAssembler::Step after, out.Push(testing::TokenResponses(ids, 4)[0]));
  EXPECT_FALSE(after.delta.has_value());
}

TEST(OutputAssemblerTest, StopStringSplitAcrossTokensIsNeverShownInPart) {
  OutputAssembler out(Options({"STOP"}));
  // "ST" arrives in one message and "OP" in the next: "ST" must be held back.
  std::vector<int32_t> ids = testing::Ids("abc ST");
  const std::vector<int32_t> rest = testing::Ids("OP tail");
  ids.insert(ids.end(), rest.begin(), rest.end());
  std::string shown;
  for (const auto& r :
       testing::TokenResponses(ids, 1, cpb::GenerateResponse::FINISH_LENGTH, false)) {
    ASSERT_OK_AND_ASSIGN(OutputAssembler::Step step, out.Push(r));
    if (step.delta.has_value()) shown += step.delta->content();
    EXPECT_THAT(shown, ::testing::Not(HasSubstr("ST")));
    if (step.finished) break;
  }
  EXPECT_EQ(shown, "abc");
}

TEST(OutputAssemblerTest, ToolCallsAreSentCompleteAndOnce) {
  OutputAssemblerOptions o = Options();
  o.tools =
      nlohmann::ordered_json::parse(R"([{"type": "function", "function": {"name": "get_weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                      "days": {"type": "integer"}}}}}])");
  OutputAssembler out(std::move(o));
  const std::vector<int32_t> ids = testing::Ids(
      "Checking.\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
      "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call><|im_end|>");
  Collected c = Feed(out, testing::TokenResponses(ids, 2));
  EXPECT_EQ(c.content, "Checking.");
  ASSERT_EQ(c.tool_calls.size(), 1u);
  EXPECT_EQ(c.tool_calls[0].name(), "get_weather");
  EXPECT_EQ(c.tool_calls[0].id(), "call_r1_0");
  EXPECT_EQ(nlohmann::json::parse(c.tool_calls[0].arguments_json()),
            nlohmann::json::parse(R"({"city": "Paris", "days": 3})"));
  EXPECT_EQ(out.finish_reason(), pb::FINISH_REASON_TOOL_CALLS);
}

TEST(OutputAssemblerTest, LengthAndCancelledFinishes) {
  OutputAssembler length(Options());
  Feed(length, testing::TokenResponses(testing::Ids("partial answer"), 3,
                                       cpb::GenerateResponse::FINISH_LENGTH));
  EXPECT_EQ(length.finish_reason(), pb::FINISH_REASON_LENGTH);

  OutputAssembler cancelled(Options());
  Feed(cancelled, testing::TokenResponses(testing::Ids("partial"), 1,
                                          cpb::GenerateResponse::FINISH_LENGTH, false));
  OutputAssembler::Step step = cancelled.FinishCancelled();
  EXPECT_TRUE(step.finished);
  EXPECT_EQ(cancelled.finish_reason(), pb::FINISH_REASON_CANCELLED);
}

TEST(OutputAssemblerTest, MultiByteCharactersAreNeverSplit) {
  OutputAssembler out(Options());
  const std::vector<int32_t> ids = testing::Ids("héllo 日本語 ok");
  std::string shown;
  for (const auto& r : testing::TokenResponses(ids, 1)) {
    ASSERT_OK_AND_ASSIGN(OutputAssembler::Step step, out.Push(r));
    if (step.delta.has_value()) {
      EXPECT_OK(tokenizer::ValidateUtf8(step.delta->content()));
      shown += step.delta->content();
    }
  }
  EXPECT_EQ(shown, "héllo 日本語 ok");
}

TEST(OutputAssemblerTest, UnknownIdIsAnError) {
  OutputAssembler out(Options());
  cpb::GenerateResponse r;
  r.add_token_ids(200000);  // between the BPE ids and the added tokens: unknown
  EXPECT_THAT(out.Push(r),
              ::tpserve::testing::StatusIs(absl::StatusCode::kInternal, HasSubstr("200000")));
}

}  // namespace
}  // namespace tpserve::coordinator
