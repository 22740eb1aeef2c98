// admin/http_message.h — one HTTP/1.1 request as the admin endpoint sees it, and the
// response it gives. Plain values: the router (admin/admin_endpoint) makes a response
// from a request; the connection (admin/http_connection) parses and writes them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace twinmq::admin {

struct HttpResponse;

// The way back to the connection a request came on, for an answer given later (after
// a password check on the thread pool, or once a change is journalled and mirrored).
// It refers to the connection weakly: a connection that closed meanwhile takes
// nothing, and the reply is dropped. Loop thread only.
class DeferredReply {
 public:
  using Sink = std::function<void(HttpResponse)>;
  DeferredReply() = default;
  explicit DeferredReply(std::weak_ptr<Sink> sink) : sink_(std::move(sink)) {}
  // Answers the request (once; later calls go nowhere).
  void send(HttpResponse response) const;
  // Whether the connection is still there to take an answer.
  bool wanted() const { return !sink_.expired(); }

 private:
  std::weak_ptr<Sink> sink_;
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the URL's path, without the query
  std::string query;   // after '?', "" if none
  std::string authorization;  // the Authorization header's value, "" if none
  std::string peer;           // "ip:port" of the client
  DeferredReply reply;        // for a router that answers later (HttpResponse::deferred)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Allow, ...)
  bool close = false;  // "Connection: close", then the connection closes
  // The router answers later through HttpRequest::reply; this value is not sent. The
  // connection reads no further request until that answer is sent (answers stay in
  // request order).
  bool deferred = false;
};

// A response that says "answered later" (see HttpResponse::deferred).
HttpResponse deferred_response();

// "OK", "Not Found", ...: the reason phrase of the statuses the endpoint uses.
std::string_view reason_phrase(int status);

// A plain-text response: `text` and a line feed.
HttpResponse text_response(int status, std::string text);

// The status line, headers and body, ready to write. `head_only` (a HEAD request)
// keeps the Content-Length of the body but leaves the body out.
void serialize(const HttpResponse& r, bool head_only, std::string& out);

}  // namespace twinmq::admin
