// A self-signed TLS certificate for tests: EC P-256, CN=localhost, subjectAltName DNS:localhost
// and IP:127.0.0.1, made once per test binary with the openssl command line.
#ifndef TPSERVE_TESTS_TESTING_TEST_CERT_H_
#define TPSERVE_TESTS_TESTING_TEST_CERT_H_

#include <string>

namespace tpserve::testing {

struct TestCert {
  std::string cert_path, key_path;  // PEM files
  std::string cert_pem;             // the certificate (also its own CA)
};

// Null when the openssl command line is missing or fails (tests then GTEST_SKIP).
const TestCert* MakeTestCert();

}  // namespace tpserve::testing

#endif  // TPSERVE_TESTS_TESTING_TEST_CERT_H_
