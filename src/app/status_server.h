// app/status_server.h — `twinmq status`: a running broker answers on a unix socket in
// its data directory (<dataDirectory>/status.sock) with its status text, and the
// command prints it.
//
// Why a unix socket: a slave has no port of its own while it mirrors (its client
// connectors are closed, and it dials out to its master), and the data directory is
// what an operator already knows from the configuration. The protocol is one line of
// text per request-less connection: connect, read until EOF. Nothing is accepted from
// the client; file permissions of the data directory decide who may ask.
//
// Lifecycle: StatusServer is a HandlePtr-owned libuv handle of app::Runtime (loop
// thread); query_status() is the blocking client used by main().
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "net/handle.h"
#include "net/loop.h"

namespace twinmq::app {

inline constexpr const char* kStatusSocketName = "status.sock";

class StatusServer final : public net::HandleBase {
 public:
  using Report = std::function<std::string()>;

  // Binds `path` (a stale socket file of a dead broker is replaced: the data directory
  // lock, taken before, says nobody else uses this directory).
  static Result<net::HandlePtr<StatusServer>> listen(net::Loop& loop, const std::string& path, Report report);
  void close() override;

 private:
  StatusServer(net::Loop& loop, Report report);
  static void on_connection(uv_stream_t* s, int status) noexcept;

  uv_pipe_t pipe_{};
  Report report_;
  std::string path_;
};

// The blocking client of the broker's unix sockets (status.sock, control.sock):
// connects to `path`, writes `request` (may be empty), returns everything the broker
// writes until it closes, bounded by `timeout_ms`. `what` names the socket in errors.
Result<std::string> unix_request(const std::string& path, const std::string& request, int timeout_ms,
                                 std::string_view what);
// unix_request with no request: what the status socket says.
Result<std::string> query_status(const std::string& path, int timeout_ms);

// `twinmq status --config FILE`: prints the status of the broker that runs with this
// configuration; returns the exit code (0, or 1 when it cannot be reached).
int run_status(const std::string& data_directory, const std::string& config_file);

}  // namespace twinmq::app
