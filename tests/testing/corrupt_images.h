// Hostile variants of real image files for the "bad data fails its request alone" tests: each
// keeps a header that a header-only reader accepts (so admission by header cannot catch it) and
// breaks the body the way a truncated upload or a flipped bit would.
#ifndef TPSERVE_TESTS_TESTING_CORRUPT_IMAGES_H_
#define TPSERVE_TESTS_TESTING_CORRUPT_IMAGES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tpserve::testing {

struct CorruptImage {
  std::string name;   // what was broken, for test messages
  std::string bytes;  // the damaged file
};

// From a valid PNG: the body cut in the middle of the first IDAT chunk; the IHDR CRC wrong; the
// zlib stream of the first IDAT overwritten (its chunk CRC recomputed, so only inflate can tell);
// the IEND chunk and the rest of the data dropped. InvalidArgument when `png` has no IHDR + IDAT.
absl::StatusOr<std::vector<CorruptImage>> CorruptPngs(const std::string& png);

// From a valid JPEG: the entropy-coded data cut at 60 % (the header and tables intact).
std::string TruncatedJpeg(const std::string& jpeg);

// The bytes of a file under the source tree (tests/golden/...); empty when it cannot be read.
std::string ReadSourceFile(const std::string& relative_path);

}  // namespace tpserve::testing

#endif  // TPSERVE_TESTS_TESTING_CORRUPT_IMAGES_H_
