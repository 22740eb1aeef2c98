// admin/http_message.h — one HTTP/1.1 request as the admin endpoint sees it, and the
// response it gives. Plain values: the router (admin/admin_endpoint) makes a response
// from a request; the connection (admin/http_connection) parses and writes them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace twinmq::admin {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the URL's path, without the query
  std::string query;   // after '?', "" if none
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Allow, ...)
  bool close = false;  // "Connection: close", then the connection closes
};

// "OK", "Not Found", ...: the reason phrase of the statuses the endpoint uses.
std::string_view reason_phrase(int status);

// A plain-text response: `text` and a line feed.
HttpResponse text_response(int status, std::string text);

// The status line, headers and body, ready to write. `head_only` (a HEAD request)
// keeps the Content-Length of the body but leaves the body out.
void serialize(const HttpResponse& r, bool head_only, std::string& out);

}  // namespace twinmq::admin
