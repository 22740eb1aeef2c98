// app/control_server.h — requests an operator makes of a running broker on this
// machine: `twinmq switchover` asks over <dataDirectory>/control.sock.
//
// Why a second socket next to status.sock: the status socket never reads anything
// (connect, read the answer), so anyone who may read the data directory may ask it.
// A request changes what the broker does, so it has its own socket, created with
// mode 0600 (only the broker's own user may connect), and its own small protocol:
// the client writes one line (at most kMaxRequest bytes, tab-separated words), the
// broker answers with one line starting "OK " or "REFUSED " and closes.
//
// Lifecycle: ControlServer is a HandlePtr-owned libuv handle of app::Runtime (loop
// thread); each connection is a self-owned handle freed in its close callback, at most
// kMaxConnections at a time (more are closed at once: nothing legitimate asks that
// often). The handler runs on the loop thread. control_request() is the blocking
// client used by the command line.
#pragma once

#include <cstddef>
#include <functional>
#include <unordered_set>
#include <string>
#include <string_view>

#include "base/result.h"
#include "net/handle.h"
#include "net/loop.h"

namespace twinmq::app {

inline constexpr const char* kControlSocketName = "control.sock";

class ControlServer final : public net::HandleBase {
 public:
  // Given the request line (without its newline), returns the answer line.
  using Handler = std::function<std::string(std::string_view request)>;
  static constexpr std::size_t kMaxRequest = 1024;
  static constexpr std::size_t kMaxConnections = 4;

  static Result<net::HandlePtr<ControlServer>> listen(net::Loop& loop, const std::string& path, Handler handler);
  void close() override;

  class Connection;  // one accepted client (control_server.cc)
  std::string handle(std::string_view request) { return handler_ ? handler_(request) : "REFUSED stopping"; }
  void forget(Connection* c) { connections_.erase(c); }

 private:
  ControlServer(net::Loop& loop, Handler handler);
  static void on_connection(uv_stream_t* s, int status) noexcept;

  uv_pipe_t pipe_{};
  Handler handler_;
  std::string path_;
  // Open connections: closed with the server, and told so (they must not call back).
  std::unordered_set<Connection*> connections_;
};

// Connects to `path`, writes `request` and a newline, returns the answer (bounded by
// `timeout_ms`).
Result<std::string> control_request(const std::string& path, const std::string& request, int timeout_ms);

}  // namespace twinmq::app
