// parse_etcd_uri (declared in witness/etcd_client.h): etcd://h1:2379,h2:2379,h3.
//
// Messages name the bad part only, never the whole URI (a user:password@ written into
// it by mistake must not reach a log line); the caller adds where the URI came from,
// as config/uri.h's callers do.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

#include "witness/etcd_client.h"

namespace twinmq::witness {

namespace {

std::unexpected<Error> bad(std::string what) { return make_error(EtcdErrc::bad_uri, std::move(what)); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Dotted quad, each part 0..255 written without a leading zero.
bool valid_ipv4(std::string_view s) {
  int parts = 0;
  while (true) {
    const std::size_t dot = s.find('.');
    const std::string_view part = s.substr(0, dot);
    if (!all_digits(part) || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
    int v = 0;
    std::from_chars(part.data(), part.data() + part.size(), v);
    if (v > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    s.remove_prefix(dot + 1);
  }
  return parts == 4;
}

// A host name: labels of letters, digits and '-' separated by dots (RFC 1123).
bool valid_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '.') {
      if (label == 0 || s[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    const bool alnum = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (!alnum && c != '-') return false;
    if (c == '-' && label == 0) return false;
    if (++label > 63) return false;
  }
  return label != 0 && s.back() != '-';
}

Result<EtcdEndpoint> parse_endpoint(std::string_view item) {
  if (item.empty()) return bad("empty endpoint (two commas in a row, or a comma at either end)");
  if (item.front() == '[') return bad("IPv6 address in '" + std::string(item) + "': IPv6 is not supported yet");
  EtcdEndpoint e;
  std::string_view host = item;
  const std::size_t colon = item.find(':');
  if (colon != std::string_view::npos) {
    host = item.substr(0, colon);
    const std::string_view port = item.substr(colon + 1);
    if (port.find(':') != std::string_view::npos)
      return bad("'" + std::string(item) + "' is not host:port (IPv6 is not supported yet)");
    if (port.empty()) return bad("missing port after ':' in '" + std::string(item) + "'");
    if (!all_digits(port)) return bad("port '" + std::string(port) + "' is not a number");
    unsigned long v = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || end != port.data() + port.size() || v == 0 || v > 65535)
      return bad("port " + std::string(port) + " out of range (1..65535)");
    e.port = static_cast<std::uint16_t>(v);
  }
  if (host.empty()) return bad("missing host in '" + std::string(item) + "'");
  const bool looks_numeric = std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  if (looks_numeric) {
    if (!valid_ipv4(host)) return bad("invalid IPv4 address '" + std::string(host) + "'");
  } else if (!valid_host_name(host)) {
    return bad("invalid host name '" + std::string(host) + "'");
  }
  e.host = std::string(host);
  return e;
}

}  // namespace

std::string endpoint_address(const EtcdEndpoint& e) { return e.host + ":" + std::to_string(e.port); }

Result<EtcdOptions> parse_etcd_uri(std::string_view uri) {
  const std::size_t sep = uri.find("://");
  if (sep == std::string_view::npos) return bad("expected etcd://host:port[,host:port...]");
  const std::string scheme = lower(uri.substr(0, sep));
  const bool tls = scheme == "etcds" || scheme == "https";
  if (scheme != "etcd" && !tls)
    return bad("unknown scheme '" + scheme + "://'; expected etcd://host:port[,host:port...] (etcds:// for TLS)");
  std::string_view rest = uri.substr(sep + 3);
  if (rest.find('@') != std::string_view::npos)
    return bad("user information ('...@') does not go in the etcd URI; set the user and password separately");
  if (const std::size_t q = rest.find_first_of("?#"); q != std::string_view::npos)
    return bad("options ('" + std::string(rest.substr(q, 1)) + "...') are not supported in the etcd URI");
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos)
    return bad("unexpected path '" + std::string(rest.substr(slash)) + "'");
  if (rest.empty()) return bad("no endpoints after etcd://");

  EtcdOptions options;
  options.tls = tls;
  while (true) {
    const std::size_t comma = rest.find(',');
    auto e = parse_endpoint(rest.substr(0, comma));
    if (!e) return std::unexpected(e.error());
    for (const EtcdEndpoint& seen : options.endpoints) {
      if (lower(seen.host) == lower(e->host) && seen.port == e->port)
        return bad("endpoint " + endpoint_address(*e) + " is listed twice");
    }
    options.endpoints.push_back(std::move(*e));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return options;
}

}  // namespace twinmq::witness
