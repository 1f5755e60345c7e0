#include "coordinator/wire_utf8.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/tokenizer/utf8.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace tpserve::coordinator {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;

constexpr int kMaxDepth = 100;  // protobuf's default recursion limit

absl::Status Walk(const Descriptor& descriptor, std::string_view wire, const std::string& prefix,
                  int depth) {
  if (depth > kMaxDepth) return absl::OkStatus();
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(wire.data()),
                                            static_cast<int>(wire.size()));
  std::map<int, int> seen;  // field number -> occurrences so far (repeated field indices)
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return absl::OkStatus();
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    if (WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&in, tag)) return absl::OkStatus();
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) return absl::OkStatus();
    const int pos = in.CurrentPosition();
    if (length > wire.size() - static_cast<size_t>(pos)) return absl::OkStatus();
    const std::string_view value = wire.substr(static_cast<size_t>(pos), length);
    if (!in.Skip(static_cast<int>(length))) return absl::OkStatus();
    const FieldDescriptor* field = descriptor.FindFieldByNumber(number);
    if (field == nullptr) continue;
    std::string name = absl::StrCat(prefix, field->name());
    if (field->is_repeated()) absl::StrAppend(&name, "[", seen[number]++, "]");
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      absl::Status s = tokenizer::ValidateUtf8(value, name);
      if (!s.ok()) return s;
    } else if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
      absl::Status s = Walk(*field->message_type(), value, name + ".", depth + 1);
      if (!s.ok()) return s;
    }
  }
}

}  // namespace

absl::Status CheckWireUtf8(const Descriptor& descriptor, std::string_view wire) {
  return Walk(descriptor, wire, "", 0);
}

}  // namespace tpserve::coordinator
