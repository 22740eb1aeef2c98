#include "net/tcp_listener.h"

#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "net/tcp_connection.h"

namespace twinmq::net {

namespace {
// At most one log line per this many ms about failed accepts (a flood is one line).
constexpr std::int64_t kFailureReportMs = 10'000;
}  // namespace

TcpListener::TcpListener(Loop& loop, OnConnection on_connection)
    : HandleBase(loop), on_connection_(std::move(on_connection)) {
  uv_tcp_init(loop.uv(), &tcp_);
  bind_handle(&tcp_, this);
}

Result<HandlePtr<TcpListener>> TcpListener::listen(Loop& loop, const std::string& host,
                                                   std::uint16_t port, OnConnection on_connection) {
  auto addr = resolve(host, port);
  if (!addr) return std::unexpected(addr.error());
  HandlePtr<TcpListener> l(new TcpListener(loop, std::move(on_connection)));
  const auto* sa = reinterpret_cast<const sockaddr*>(&*addr);
  std::string where = format_address(sa);
  if (int rc = uv_tcp_bind(&l->tcp_, sa, 0); rc != 0) {
    return make_error(Errc::bind_failed, "cannot bind " + where + ": " + uv_strerror(rc));
  }
  if (int rc = uv_listen(l->stream(), 511, &TcpListener::on_connection); rc != 0) {
    return make_error(Errc::listen_failed, "cannot listen on " + where + ": " + uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&l->tcp_, reinterpret_cast<sockaddr*>(&bound), &len);
  l->address_ = format_address(reinterpret_cast<sockaddr*>(&bound));
  l->port_ = bound.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                                        : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return l;
}

void TcpListener::on_connection(uv_stream_t* s, int status) noexcept {
  auto* self = owner_of<TcpListener>(s);
  if (self->closing_) return;
  if (status < 0) {
    const std::int64_t now = mono_ms();
    ++self->failures_unreported_;
    if (self->failure_reported_ms_ == 0 || now - self->failure_reported_ms_ >= kFailureReportMs) {
      spdlog::warn("listener {}: incoming connection failed: {} ({} failure(s) since the last report)",
                   self->address_, uv_strerror(status), self->failures_unreported_);
      self->failure_reported_ms_ = now;
      self->failures_unreported_ = 0;
    }
    return;
  }
  self->on_connection_(*self);
}

void TcpListener::close() {
  if (closing_) return;
  on_connection_ = nullptr;
  close_handle(reinterpret_cast<uv_handle_t*>(&tcp_));
}

}  // namespace twinmq::net
