// config/size_value.cc — parse_size / format_size.
#include "config/size_value.h"

#include <cctype>
#include <charconv>
#include <limits>

#include "config/xml_loader.h"  // Errc

namespace twinmq::config {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

Result<std::uint64_t> parse_size(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && is_space(text[i])) ++i;
  const std::size_t digits_begin = i;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == digits_begin) return make_error(Errc::invalid, "not a number");
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data() + digits_begin, text.data() + i, number);
  if (ec != std::errc{} || end != text.data() + i) return make_error(Errc::invalid, "number too large");
  while (i < text.size() && is_space(text[i])) ++i;
  std::string unit;
  while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])))
    unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i++]))));
  while (i < text.size() && is_space(text[i])) ++i;
  if (i != text.size()) return make_error(Errc::invalid, "unexpected '" + std::string(text.substr(i)) + "'");
  unsigned shift = 0;
  if (unit.empty() || unit == "b") shift = 0;
  else if (unit == "kb") shift = 10;
  else if (unit == "mb") shift = 20;
  else if (unit == "gb") shift = 30;
  else return make_error(Errc::invalid, "unknown unit '" + unit + "'; use b, kb, mb or gb");
  if (number > (std::numeric_limits<std::uint64_t>::max() >> shift))
    return make_error(Errc::invalid, "number too large");
  return number << shift;
}

std::string format_size(std::uint64_t bytes) {
  static constexpr struct { unsigned shift; const char* unit; } kUnits[] = {
      {30, " gb"}, {20, " mb"}, {10, " kb"}};
  for (const auto& u : kUnits) {
    const std::uint64_t unit = std::uint64_t{1} << u.shift;
    if (bytes != 0 && bytes % unit == 0) return std::to_string(bytes >> u.shift) + u.unit;
  }
  return std::to_string(bytes) + " b";
}

}  // namespace twinmq::config
