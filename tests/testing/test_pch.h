// The headers nearly every test includes, precompiled once (tests/CMakeLists.txt: tpserve_test_pch)
// and reused by every test target: the C++20 standard library, GoogleTest and the abseil status and
// string headers take most of a test file's compile time.
#ifndef TPSERVE_TESTS_TESTING_TEST_PCH_H_
#define TPSERVE_TESTS_TESTING_TEST_PCH_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

#endif  // TPSERVE_TESTS_TESTING_TEST_PCH_H_
