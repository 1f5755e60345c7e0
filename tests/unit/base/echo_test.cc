// What comes back of a caller's value inside an error: a bounded prefix, cut on a character.
#include "ops/base/echo.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_status.h"

namespace tpserve {
namespace {

using ::testing::EndsWith;
using ::testing::StartsWith;

TEST(EchoTest, ShortValuesComeBackWholeAndLongOnesAsAPrefixWithTheirSize) {
  EXPECT_EQ(EchoValue("bot"), "'bot'");
  EXPECT_EQ(EchoValue(std::string(32, 'a')), "'" + std::string(32, 'a') + "'");
  EXPECT_EQ(EchoValue(std::string(100000, 'a')),
            "'" + std::string(32, 'a') + "...' (100000 bytes)");
  EXPECT_EQ(EchoPrefix(std::string(33, 'b')), std::string(32, 'b') + "...");
}

TEST(EchoTest, APrefixNeverEndsInsideAUtf8Character) {
  // 31 ASCII bytes then "é" (2 bytes) straddling the 32-byte cut: the cut moves before it.
  const std::string v = std::string(31, 'a') + "\xC3\xA9" + "tail";
  EXPECT_EQ(EchoPrefix(v), std::string(31, 'a') + "...");
  // "€" (3 bytes) repeated: the prefix holds whole characters only (30 bytes = 10 of them).
  std::string euros;
  for (int i = 0; i < 20; ++i) euros += "\xE2\x82\xAC";
  EXPECT_EQ(EchoPrefix(euros), euros.substr(0, 30) + "...");
}

TEST(EchoTest, CapMessageKeepsShortMessagesAndBoundsLongOnes) {
  EXPECT_EQ(CapMessage("fine", 100), "fine");
  const std::string long_message(100000, 'x');
  const std::string capped = CapMessage(long_message, 2048);
  EXPECT_LE(capped.size(), 2048u);
  EXPECT_THAT(capped, StartsWith(std::string(1000, 'x')));
  // What was cut is counted: the kept head plus the cut count is the original length.
  const size_t head = capped.find(" ... [");
  ASSERT_NE(head, std::string::npos);
  EXPECT_EQ(capped.substr(head), absl::StrCat(" ... [", 100000 - head, " bytes cut]"));
  EXPECT_THAT(capped, EndsWith(" bytes cut]"));
}

TEST(EchoTest, EveryStatusLeavingOverGrpcIsCapped) {
  const absl::Status huge = absl::InvalidArgumentError(std::string(50000, 'q'));
  const grpc::Status out = ToGrpcStatus(huge);
  EXPECT_EQ(out.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LE(out.error_message().size(), kMaxStatusMessageBytes);
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("short")).error_message(), "short");
}

}  // namespace
}  // namespace tpserve
