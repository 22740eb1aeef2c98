// config/values.cc — strict parsers: no signs, no surrounding spaces, no trailing junk.
#include "config/values.h"

#include <charconv>
#include <cstdio>

#include "config/size_value.h"

namespace twinmq::config {
namespace {

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

ValueResult<bool> parse_bool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::unexpected(ValueProblem{"true or false", {}});
}

ValueResult<std::uint64_t> parse_uint(std::string_view text, std::uint64_t lo, std::uint64_t hi,
                                      std::string_view unit) {
  std::string expectation;
  if (hi == lo + 1) {
    expectation = std::to_string(lo) + " or " + std::to_string(hi);
  } else {
    expectation = "a whole number ";
    if (!unit.empty()) expectation.append("of ").append(unit).append(" ");
    expectation += "from " + std::to_string(lo) + " to " + std::to_string(hi);
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < lo || value > hi)
    return std::unexpected(ValueProblem{std::move(expectation), {}});
  return value;
}

ValueResult<std::uint64_t> parse_size_in(std::string_view text, std::uint64_t lo, std::uint64_t hi) {
  std::string expectation = "a size from " + format_size(lo) + " to " + format_size(hi);
  auto size = parse_size(text);
  if (!size) return std::unexpected(ValueProblem{std::move(expectation), size.error().message});
  if (*size < lo || *size > hi) return std::unexpected(ValueProblem{std::move(expectation), {}});
  return *size;
}

ValueResult<double> parse_double(std::string_view text, double lo, double hi) {
  std::string expectation = "a number from " + format_double(lo) + " to " + format_double(hi);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value,
                                         std::chars_format::fixed);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !(value >= lo && value <= hi))
    return std::unexpected(ValueProblem{std::move(expectation), {}});
  return value;
}

std::string value_message(std::string_view name, std::string_view text, const ValueProblem& problem) {
  std::string out;
  out.append(name).append(" must be ").append(problem.expectation).append(", got '").append(text).append("'");
  if (!problem.detail.empty()) out.append(" (").append(problem.detail).append(")");
  return out;
}

}  // namespace twinmq::config
