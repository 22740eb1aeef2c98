// test/support/raw_http.h — a minimal blocking HTTP/1.1 client for the admin endpoint
// tests: it writes exactly the bytes a test gives (so a test can send a malformed or
// oversized request) and reads one response at a time (status, headers, a body of
// Content-Length bytes). Every read is bounded by a deadline.
//
// Lifecycle: test-local; the socket closes in the destructor.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace twinmq::test {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class RawHttp {
 public:
  // Connects to 127.0.0.1:port (throws std::runtime_error if it cannot).
  explicit RawHttp(std::uint16_t port);
  ~RawHttp();
  RawHttp(const RawHttp&) = delete;
  RawHttp& operator=(const RawHttp&) = delete;

  // Writes `bytes` as they are; false if the peer closed.
  bool send_raw(std::string_view bytes);
  // Reads one response; nullopt if the connection closed first or the deadline passed.
  // `head_only`: the answer to a HEAD (a Content-Length, but no body follows).
  std::optional<HttpReply> read_reply(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
                                      bool head_only = false);
  // True once the peer has closed the connection (reads EOF within `timeout`).
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string in_;
  bool eof_ = false;
};

// One GET (or `method`) on a fresh connection with "Connection: close".
std::optional<HttpReply> http_request(std::uint16_t port, std::string_view method, std::string_view path);
inline std::optional<HttpReply> http_get(std::uint16_t port, std::string_view path) {
  return http_request(port, "GET", path);
}

}  // namespace twinmq::test
