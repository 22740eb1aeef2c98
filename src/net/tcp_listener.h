// net/tcp_listener.h — a listening TCP socket.
//
// "Connectors closed means not listening" (ARCHITECTURE.md "Roles and the witness"): a slave, or a master waiting
// for its slave, has no listener at all, so clients get ECONNREFUSED at once and fail
// over, instead of a CONNECT answered with ERROR. Opening a connector = creating a
// TcpListener; closing it = close().
//
// Lifecycle: HandlePtr<TcpListener>, loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"
#include "net/handle.h"
#include "net/loop.h"

namespace twinmq::net {

class TcpListener final : public HandleBase {
 public:
  // Called once per incoming connection; call accept() inside it.
  using OnConnection = std::function<void(TcpListener& listener)>;

  // Binds host:port (port 0 = any free port) and listens. The error names the
  // address and the reason ("address already in use").
  static Result<HandlePtr<TcpListener>> listen(Loop& loop, const std::string& host,
                                               std::uint16_t port, OnConnection on_connection);

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  std::uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }  // "ip:port" actually bound

  void close() override;

 private:
  TcpListener(Loop& loop, OnConnection on_connection);
  static void on_connection(uv_stream_t* s, int status) noexcept;

  uv_tcp_t tcp_{};
  OnConnection on_connection_;
  std::uint16_t port_ = 0;
  std::string address_;
  // Failed accepts (EMFILE when descriptors run out) come in floods: the first is
  // logged at once, the rest as one line per kFailureReportMs with their count.
  std::int64_t failure_reported_ms_ = 0;
  std::uint64_t failures_unreported_ = 0;
};

}  // namespace twinmq::net
