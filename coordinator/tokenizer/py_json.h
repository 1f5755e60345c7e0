// Python's spelling of values, as the Qwen chat template (rendered by transformers' Jinja) writes
// them: `tojson` is json.dumps(value, ensure_ascii=False) with the default separators ", " and
// ": " and keys in their given order; the `string` filter is Python's str().
#ifndef TPSERVE_COORDINATOR_TOKENIZER_PY_JSON_H_
#define TPSERVE_COORDINATOR_TOKENIZER_PY_JSON_H_

#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace tpserve::tokenizer {

// json.dumps(value, ensure_ascii=False) of `value` (strings must be well-formed UTF-8).
std::string PyJsonDumps(const nlohmann::ordered_json& value);

// str(value) for a scalar: strings as they are, True/False, None, ints, float repr. Arrays and
// objects are written like PyJsonDumps (the template never takes str() of those).
std::string PyStr(const nlohmann::ordered_json& value);

// repr(float(v)): the shortest digits that read back as v; fixed notation for 1e-4 <= |v| < 1e16
// ("1.0", "0.0001"), otherwise exponent notation ("1e+16", "1.5e-05").
std::string PyFloatRepr(double v);

// Python's str.isspace() for one code point.
bool PyIsSpace(char32_t c);

// Python's str.strip() (white space per PyIsSpace) of well-formed UTF-8 `text`.
std::string_view PyStrip(std::string_view text);

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_PY_JSON_H_
