// GoogleTest helpers for absl::Status (abseil 20220623 ships none).
#ifndef TPSERVE_TESTS_TESTING_STATUS_MATCHERS_H_
#define TPSERVE_TESTS_TESTING_STATUS_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpserve::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// StatusIs(code, message_matcher): matches a Status or StatusOr.
MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& s = ::tpserve::testing::GetStatus(arg);
  if (s.code() != code) {
    *result_listener << "status is " << s.ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(message_matcher, std::string(s.message()), result_listener);
}

// StatusIs(code): matches a Status or StatusOr with that code, whatever the message.
MATCHER_P(StatusIs, code, "") {
  const absl::Status& s = ::tpserve::testing::GetStatus(arg);
  if (s.code() != code) {
    *result_listener << "status is " << s.ToString();
    return false;
  }
  return true;
}

// IsOkAndHolds(value_matcher): matches an OK StatusOr whose value matches.
MATCHER_P(IsOkAndHolds, value_matcher, "") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace tpserve::testing

#define TPS_TESTING_CONCAT_INNER_(a, b) a##b
#define TPS_TESTING_CONCAT_(a, b) TPS_TESTING_CONCAT_INNER_(a, b)

#define EXPECT_OK(expr)                                 \
  EXPECT_TRUE(::tpserve::testing::GetStatus(expr).ok()) \
      << ::tpserve::testing::GetStatus(expr).ToString()
#define ASSERT_OK(expr)                                       \
  do {                                                        \
    const auto& tps_ok_ = (expr);                             \
    ASSERT_TRUE(::tpserve::testing::GetStatus(tps_ok_).ok())  \
        << ::tpserve::testing::GetStatus(tps_ok_).ToString(); \
  } while (false)

#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                    \
  auto TPS_TESTING_CONCAT_(tps_statusor_, __LINE__) = (expr);              \
  ASSERT_TRUE(TPS_TESTING_CONCAT_(tps_statusor_, __LINE__).ok())           \
      << TPS_TESTING_CONCAT_(tps_statusor_, __LINE__).status().ToString(); \
  lhs = std::move(TPS_TESTING_CONCAT_(tps_statusor_, __LINE__)).value()

#endif  // TPSERVE_TESTS_TESTING_STATUS_MATCHERS_H_
