// config/uri.cc — a strict hand-written parser; connector URIs are short and the
// point is a precise message for each mistake, not generality.
#include "config/uri.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <charconv>

#include "config/xml_loader.h"  // Errc

namespace twinmq::config {
namespace {

bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_xdigit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::unexpected<Error> fail(std::string message) { return make_error(Errc::invalid, std::move(message)); }

Result<void> check_ipv4(std::string_view host) {
  int parts = 0;
  std::string_view rest = host;
  while (true) {
    const auto dot = rest.find('.');
    const std::string_view part = rest.substr(0, dot);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || part.size() > 3 || ec != std::errc{} || end != part.data() + part.size() ||
        value > 255)
      return fail("invalid IPv4 address '" + std::string(host) + "'");
    ++parts;
    if (dot == std::string_view::npos) break;
    rest = rest.substr(dot + 1);
  }
  if (parts != 4) return fail("invalid IPv4 address '" + std::string(host) + "'");
  return {};
}

Result<void> check_ipv6(std::string_view host) {
  // Shape check only (hex groups, colons, an optional embedded IPv4 tail); the
  // listener's uv_ip6_addr does the full parse and reports anything subtler.
  if (host.find(':') == std::string_view::npos)
    return fail("invalid IPv6 address '[" + std::string(host) + "]'");
  for (char c : host)
    if (!is_xdigit(c) && c != ':' && c != '.')
      return fail("invalid IPv6 address '[" + std::string(host) + "]'");
  return {};
}

Result<void> check_host(std::string_view host) {
  if (host.empty()) return fail("missing host");
  bool all_numeric = true;
  for (char c : host) {
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.')
      return fail("invalid host '" + std::string(host) + "'");
    if (!is_digit(c) && c != '.') all_numeric = false;
  }
  if (all_numeric) return check_ipv4(host);
  if (host.front() == '.' || host.back() == '.' || host.find("..") != std::string_view::npos ||
      host.front() == '-')
    return fail("invalid host '" + std::string(host) + "'");
  return {};
}

Result<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || !is_xdigit(s[i + 1]) || !is_xdigit(s[i + 2]))
      return fail("bad %-escape in '" + std::string(s) + "'");
    unsigned v = 0;
    std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> options;
  if (query.empty()) return options;
  std::string_view rest = query;
  while (true) {
    const auto amp = rest.find('&');
    const std::string_view item = rest.substr(0, amp);
    const auto eq = item.find('=');
    if (item.empty()) return fail("empty option (stray '&')");
    if (eq == std::string_view::npos)
      return fail("option '" + std::string(item) + "' has no value (write " + std::string(item) + "=value)");
    const std::string_view key = item.substr(0, eq);
    if (key.empty()) return fail("option with no name ('" + std::string(item) + "')");
    for (const auto& [k, v] : options)
      if (k == key) return fail("option '" + std::string(key) + "' given twice");
    auto value = percent_decode(item.substr(eq + 1));
    if (!value) return std::unexpected(value.error());
    options.emplace_back(std::string(key), std::move(*value));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return options;
}

}  // namespace

std::string uri_scheme(std::string_view text) {
  const auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return {};
  return to_lower(text.substr(0, sep));
}

Result<ParsedUri> parse_uri(std::string_view text) {
  ParsedUri out;
  if (to_lower(text.substr(0, 9)) == "failover:")
    return fail("failover: lists several brokers for a client; a connector names one address (scheme://host:port)");
  const auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return fail("missing scheme (expected scheme://host:port)");
  const std::string_view scheme = text.substr(0, sep);
  for (char c : scheme)
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
      return fail("invalid scheme '" + std::string(scheme) + "'");
  out.endpoint.scheme = to_lower(scheme);

  std::string_view rest = text.substr(sep + 3);
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (const auto hash = rest.find('#'); hash != std::string_view::npos)
    return fail("unexpected fragment '" + std::string(rest.substr(hash)) + "'");
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    // "host:port/" is a common slip; anything after the slash is a path we would ignore.
    if (slash + 1 != rest.size()) return fail("unexpected path '" + std::string(rest.substr(slash)) + "'");
    rest = rest.substr(0, slash);
  }
  if (rest.find('@') != std::string_view::npos)
    return fail("user info is not allowed in a connector uri (use userName/password attributes)");

  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("missing ']' after IPv6 host");
    host = rest.substr(1, close - 1);
    if (auto ok = check_ipv6(host); !ok) return std::unexpected(ok.error());
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected '" + std::string(after) + "' after IPv6 host");
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const auto colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port_text = rest.substr(colon + 1);
      has_port = true;
      if (host.find(':') != std::string_view::npos)
        return fail("IPv6 host must be in brackets (e.g. [::1]:61613)");
    } else {
      host = rest;
    }
    if (auto ok = check_host(host); !ok) return std::unexpected(ok.error());
  }
  out.endpoint.host = std::string(host);

  if (!has_port || port_text.empty()) return fail("missing port");
  for (char c : port_text)
    if (!is_digit(c)) return fail("port '" + std::string(port_text) + "' is not a number");
  unsigned long port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    return fail("port " + std::string(port_text) + " out of range");
  out.endpoint.port = static_cast<std::uint16_t>(port);

  auto options = parse_query(query);
  if (!options) return std::unexpected(options.error());
  out.options = std::move(*options);
  return out;
}

std::string endpoint_address(const Endpoint& endpoint) {
  const bool v6 = endpoint.host.find(':') != std::string::npos;
  return (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  const std::string text(host);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;  // a host name
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

}  // namespace twinmq::config
