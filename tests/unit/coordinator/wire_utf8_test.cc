#include "coordinator/wire_utf8.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tpserve/v1/chat.pb.h"

namespace tpserve::coordinator {
namespace {

namespace pb = ::tpserve::v1;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

// Serialises `request` with one text replaced by raw bytes (protobuf would refuse to build it).
std::string WireWithBadText() {
  pb::ChatRequest request;
  request.set_model("m");
  pb::Message* m0 = request.add_messages();
  m0->set_role("system");
  m0->add_content()->set_text("fine");
  pb::Message* m1 = request.add_messages();
  m1->set_role("user");
  m1->add_content()->set_text("also fine");
  m1->add_content()->set_text("PLACEHOLDER");
  std::string wire = request.SerializeAsString();
  const std::string bad = "ab\xC3(xyzabcd";  // same length as PLACEHOLDER; offset 2 is bad
  wire.replace(wire.find("PLACEHOLDER"), bad.size(), bad);
  return wire;
}

TEST(WireUtf8Test, NamesTheFieldAndOffset) {
  const std::string wire = WireWithBadText();
  pb::ChatRequest parsed;
  EXPECT_FALSE(parsed.ParseFromString(wire));  // what protobuf alone would do
  EXPECT_THAT(
      CheckWireUtf8(*pb::ChatRequest::descriptor(), wire),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("messages[1].content[1].text"), HasSubstr("byte offset 2"))));
}

TEST(WireUtf8Test, ValidMessagesPass) {
  pb::ChatRequest request;
  request.set_model("m");
  pb::Message* m = request.add_messages();
  m->set_role("user");
  m->add_content()->set_text("héllo wörld 日本");
  m->add_content()->mutable_image()->set_data(
      std::string("\xFF\xD8\xFF\xE0", 4));  // bytes: unchecked
  request.mutable_sampling()->set_temperature(0.5f);
  EXPECT_OK(CheckWireUtf8(*pb::ChatRequest::descriptor(), request.SerializeAsString()));
}

TEST(WireUtf8Test, MalformedWireIsLeftToTheParser) {
  EXPECT_OK(CheckWireUtf8(*pb::ChatRequest::descriptor(), std::string("\x12\xFF\xFF", 3)));
}

}  // namespace
}  // namespace tpserve::coordinator
