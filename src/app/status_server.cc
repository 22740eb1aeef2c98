// app/status_server.cc — the status socket and its client (app/status_server.h).
#include "app/status_server.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "app/exit_codes.h"
#include "base/clock.h"

namespace twinmq::app {

namespace {

// One answer: the text is written, then the pipe closes. Self-owned, freed in its
// close callback (net/handle.h).
class StatusReply final : public net::HandleBase {
 public:
  static void answer(net::Loop& loop, uv_stream_t* server, std::string text) {
    auto* r = new StatusReply(loop, std::move(text));
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&r->pipe_)) != 0) {
      r->close();
      return;
    }
    uv_buf_t b = uv_buf_init(r->text_.data(), static_cast<unsigned>(r->text_.size()));
    r->req_.data = static_cast<net::HandleBase*>(r);
    if (uv_write(&r->req_, reinterpret_cast<uv_stream_t*>(&r->pipe_), &b, 1, &StatusReply::on_written) != 0)
      r->close();
  }
  void close() override {
    if (!closing_) close_handle(reinterpret_cast<uv_handle_t*>(&pipe_));
  }

 private:
  StatusReply(net::Loop& loop, std::string text) : HandleBase(loop), text_(std::move(text)) {
    uv_pipe_init(loop.uv(), &pipe_, 0);
    net::bind_handle(&pipe_, this);
  }
  static void on_written(uv_write_t* req, int) noexcept {
    static_cast<StatusReply*>(static_cast<net::HandleBase*>(req->data))->close();
  }

  uv_pipe_t pipe_{};
  uv_write_t req_{};
  std::string text_;  // owned by libuv until on_written
};

}  // namespace

StatusServer::StatusServer(net::Loop& loop, Report report) : HandleBase(loop), report_(std::move(report)) {
  uv_pipe_init(loop.uv(), &pipe_, 0);
  net::bind_handle(&pipe_, this);
}

Result<net::HandlePtr<StatusServer>> StatusServer::listen(net::Loop& loop, const std::string& path, Report report) {
  sockaddr_un probe{};
  if (path.size() >= sizeof probe.sun_path)
    return make_error(1, "status socket path " + path + " is longer than " + std::to_string(sizeof probe.sun_path - 1) +
                             " bytes (a unix socket limit): use a shorter dataDirectory");
  net::HandlePtr<StatusServer> s(new StatusServer(loop, std::move(report)));
  ::unlink(path.c_str());
  if (int rc = uv_pipe_bind(&s->pipe_, path.c_str()); rc != 0)
    return make_error(1, "cannot bind status socket " + path + ": " + uv_strerror(rc));
  if (int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&s->pipe_), 8, &StatusServer::on_connection); rc != 0)
    return make_error(1, "cannot listen on status socket " + path + ": " + uv_strerror(rc));
  // Status never keeps the broker alive on its own.
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->pipe_));
  s->path_ = path;
  return s;
}

void StatusServer::on_connection(uv_stream_t* st, int status) noexcept {
  auto* self = net::owner_of<StatusServer>(st);
  if (self->closing_ || status < 0) return;
  StatusReply::answer(self->loop_, st, self->report_ ? self->report_() : std::string());
}

void StatusServer::close() {
  if (closing_) return;
  report_ = nullptr;
  if (!path_.empty()) ::unlink(path_.c_str());
  close_handle(reinterpret_cast<uv_handle_t*>(&pipe_));
}

Result<std::string> unix_request(const std::string& path, const std::string& request, int timeout_ms,
                                 std::string_view what) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error(1, "socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(1, std::string("socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(1, "cannot reach the broker at " + path + ": " + std::strerror(err) +
                             (err == ENOENT || err == ECONNREFUSED ? " (is it running with this configuration?)"
                              : err == EACCES                      ? " (run as the broker's user)"
                                                                   : ""));
  }
  for (std::size_t written = 0; written < request.size();) {
    const ssize_t n = ::write(fd, request.data() + written, request.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return make_error(1, "cannot send the request to " + path + ": " + std::strerror(err));
    }
    written += static_cast<std::size_t>(n);
  }
  std::string out;
  const std::int64_t deadline = mono_ms() + timeout_ms;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int left = static_cast<int>(std::max<std::int64_t>(0, deadline - mono_ms()));
    if (::poll(&p, 1, left) <= 0) {
      ::close(fd);
      return make_error(1, "the broker at " + path + " did not answer within " + std::to_string(timeout_ms) + " ms");
    }
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (out.empty())
    return make_error(1, "the broker at " + path + " closed the " + std::string(what) + " connection without an answer");
  return out;
}

Result<std::string> query_status(const std::string& path, int timeout_ms) {
  return unix_request(path, {}, timeout_ms, "status");
}

int run_status(const std::string& data_directory, const std::string& config_file) {
  const std::string path = data_directory + "/" + kStatusSocketName;
  auto text = query_status(path, 3000);
  if (!text) {
    std::fprintf(stderr, "twinmq status (%s): %s\n", config_file.c_str(), text.error().message.c_str());
    return kExitRuntimeFailure;
  }
  std::fputs(text->c_str(), stdout);
  return kExitClean;
}

}  // namespace twinmq::app
