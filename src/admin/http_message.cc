// admin/http_message.cc — response serialization (admin/http_message.h).
#include "admin/http_message.h"

#include <fmt/format.h>

namespace twinmq::admin {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 409: return "Conflict";
    case 429: return "Too Many Requests";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

void DeferredReply::send(HttpResponse response) const {
  // The lock keeps the sink alive while it runs, even if the connection drops it.
  if (std::shared_ptr<Sink> sink = sink_.lock()) (*sink)(std::move(response));
}

HttpResponse deferred_response() {
  HttpResponse r;
  r.deferred = true;
  return r;
}

HttpResponse text_response(int status, std::string text) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(text);
  r.body += '\n';
  return r;
}

void serialize(const HttpResponse& r, bool head_only, std::string& out) {
  out += fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n", r.status,
                     reason_phrase(r.status), r.content_type, r.body.size());
  // Every answer is about this moment: nothing may be cached by a browser or a proxy.
  out += "Cache-Control: no-store\r\n";
  for (const auto& [name, value] : r.headers) out += fmt::format("{}: {}\r\n", name, value);
  if (r.close) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_only) out += r.body;
}

}  // namespace twinmq::admin
