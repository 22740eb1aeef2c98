// admin/request_args.cc — path segments, query parameters and Basic credentials
// (admin/request_args.h).
#include "admin/request_args.h"

#include <fmt/format.h>
#include <strings.h>

#include <charconv>

#include "base/base64.h"

namespace twinmq::admin {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int a = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
    const int b = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (a < 0 || b < 0) return make_error(ArgsErrc::bad_escape, "'%' must be followed by two hex digits");
    const char c = static_cast<char>(a * 16 + b);
    if (c == '\0') return make_error(ArgsErrc::bad_escape, "an escaped NUL (%00) is not allowed");
    out += c;
    i += 2;
  }
  return out;
}

Result<std::optional<std::string>> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    if (eq == std::string_view::npos) return std::optional<std::string>(std::string());
    auto value = percent_decode(pair.substr(eq + 1));
    if (!value)
      return make_error(ArgsErrc::bad_escape, fmt::format("parameter '{}': {}", name, value.error().message));
    return std::optional<std::string>(std::move(*value));
  }
  return std::optional<std::string>();
}

Result<std::uint64_t> query_number(std::string_view query, std::string_view name, std::uint64_t fallback,
                                   std::uint64_t min, std::uint64_t max) {
  auto text = query_param(query, name);
  if (!text) return std::unexpected(text.error());
  if (!*text) return fallback;
  const std::string& t = **text;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec == std::errc::invalid_argument || end != t.data() + t.size())
    return make_error(ArgsErrc::not_a_number,
                      fmt::format("parameter '{}' must be a whole number from {} to {}, got '{}'", name, min, max,
                                  t.substr(0, 40)));
  if (ec == std::errc::result_out_of_range || v < min || v > max)
    return make_error(ArgsErrc::out_of_range,
                      fmt::format("parameter '{}' must be from {} to {}, got {}", name, min, max, t.substr(0, 40)));
  return v;
}

std::optional<BasicCredentials> parse_basic_auth(std::string_view header) {
  constexpr std::string_view kScheme = "basic ";
  if (header.size() < kScheme.size() || strncasecmp(header.data(), kScheme.data(), kScheme.size()) != 0)
    return std::nullopt;
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  auto decoded = base64_decode(token);
  if (!decoded) return std::nullopt;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

Result<std::string> destination_from_segment(std::string_view segment, std::string_view kind) {
  auto name = percent_decode(segment);
  if (!name) return std::unexpected(name.error());
  if (name->empty()) return make_error(ArgsErrc::missing, fmt::format("the {} name is empty", kind));
  if (name->front() == '/') return std::move(*name);
  return fmt::format("/{}/{}", kind, *name);
}

}  // namespace twinmq::admin
