// admin_cli/http_call.h — one HTTP request of twinmq-admin to the admin endpoint, with
// libcurl (blocking: the tool does one thing at a time). Credentials go as HTTP Basic.
// https:// URLs: TLS 1.2 or later, the certificate checked against `cacert` (else the
// system's CA store) and the URL's host, as the broker's own TLS policy has it.
//
// Lifecycle: a function; curl's global state is set up once per process by main().
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace twinmq::admin_cli {

struct HttpAnswer {
  long status = 0;
  std::string body;
};

struct HttpCall {
  std::string method = "GET";  // GET, POST, DELETE
  std::string url;             // the whole URL
  std::string user;            // "" = no credentials
  std::string password;
  std::string cacert;          // https: PEM CA file the endpoint's certificate chains to ("" = system CAs)
  long timeout_ms = 10'000;
};

// The answer, whatever its status. Error: the endpoint could not be reached or did not
// answer (the message names the URL and what curl said).
Result<HttpAnswer> http_call(const HttpCall& call);

// "orders" -> "orders", "/queue/a/b" -> "a%2Fb", "/temp-queue/x" -> "%2Ftemp-queue%2Fx": a
// queue as the API's path segment names it (admin/admin_api.h).
std::string queue_segment(std::string_view queue);

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string percent_encode(std::string_view text);

}  // namespace twinmq::admin_cli
