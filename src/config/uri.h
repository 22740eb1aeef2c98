// config/uri.h — connector URIs: scheme://host:port?opt=value&opt2=value2
//
// Accepted hosts: a name ("localhost", "masterhost", "db-1.example.com"), a dotted
// IPv4 address ("0.0.0.0", "127.0.0.1"), or an IPv6 address in brackets ("[::1]",
// "[::]"). Endpoint::host holds IPv6 without its brackets, which is what
// uv_ip6_addr and getaddrinfo take. The port is required, 0..65535 (0 lets the OS
// choose). The scheme is lower-cased; option values are %-decoded. No path, user
// info or fragment: a connector URI names an address and its options, nothing else.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace twinmq::config {

struct ParsedUri {
  Endpoint endpoint;
  std::vector<std::pair<std::string, std::string>> options;  // in the order written
};

// On failure the Error's message names the bad part ("port 99999 out of range",
// "missing port", "invalid IPv4 address '300.0.0.1'"); the caller adds where.
Result<ParsedUri> parse_uri(std::string_view text);

// The scheme of `text` (lower-cased), or "" if it has no "scheme://": lets the
// loader classify a connector whose URI is otherwise broken.
std::string uri_scheme(std::string_view text);

// "host:port", with brackets around an IPv6 host: for messages and logs.
std::string endpoint_address(const Endpoint& endpoint);

// Whether `host` (as Endpoint::host holds it) names this machine only: "localhost",
// an IPv4 address in 127.0.0.0/8, or the IPv6 loopback address (::1, written in any of
// its forms, or ::ffff:127.x.y.z). Wildcards (0.0.0.0, ::) and host names are not.
bool is_loopback_host(std::string_view host);

}  // namespace twinmq::config
