#include "tests/testing/test_cert.h"

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "tests/testing/test_env.h"

namespace tpserve::testing {

const TestCert* MakeTestCert() {
  static const TestCert* cert = []() -> const TestCert* {
    if (std::system("openssl version > /dev/null 2>&1") != 0) return nullptr;
    const std::string dir = MakeTempDir();
    auto* c = new TestCert{dir + "/cert.pem", dir + "/key.pem", ""};
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 "
        "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
        c->key_path + " -out " + c->cert_path + " > /dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return nullptr;
    std::ifstream in(c->cert_path);
    c->cert_pem.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return c;
  }();
  return cert;
}

}  // namespace tpserve::testing
