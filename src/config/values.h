// config/values.h — typed attribute and option values, each with its allowed range.
//
// A failure carries the words that complete "<name> must be ..., got '<text>'", so
// attribute errors and URI-option errors read the same way.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace twinmq::config {

struct ValueProblem {
  std::string expectation;  // "true or false", "a whole number from 1 to 100", ...
  std::string detail;       // optional extra, e.g. "unknown unit 'zb'; use b, kb, mb or gb"
};

template <class T>
using ValueResult = std::expected<T, ValueProblem>;

// Exactly "true" or "false" (as Spring's XML reads them; "yes", "1", "True" are typos).
ValueResult<bool> parse_bool(std::string_view text);
// Decimal digits only, within [lo, hi]. `unit` ("milliseconds", "") is named in the expectation.
ValueResult<std::uint64_t> parse_uint(std::string_view text, std::uint64_t lo, std::uint64_t hi,
                                      std::string_view unit = {});
// A size (see size_value.h) within [lo, hi] bytes.
ValueResult<std::uint64_t> parse_size_in(std::string_view text, std::uint64_t lo, std::uint64_t hi);
// A decimal number within [lo, hi].
ValueResult<double> parse_double(std::string_view text, double lo, double hi);

// "<name> must be <expectation>, got '<text>'[ (detail)]"
std::string value_message(std::string_view name, std::string_view text, const ValueProblem& problem);

}  // namespace twinmq::config
