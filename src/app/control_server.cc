// app/control_server.cc — the control socket and its client (app/control_server.h).
#include "app/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <utility>

#include "app/status_server.h"

namespace twinmq::app {

// Reads one request line, writes the handler's answer, closes.
class ControlServer::Connection final : public net::HandleBase {
 public:
  Connection(net::Loop& loop, ControlServer* server) : HandleBase(loop), server_(server) {
    uv_pipe_init(loop.uv(), &pipe_, 0);
    net::bind_handle(&pipe_, this);
  }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&pipe_); }
  void detach() { server_ = nullptr; }
  void start() {
    if (uv_read_start(stream(), &Connection::on_alloc, &Connection::on_read) != 0) close();
  }
  void close() override {
    if (closing_) return;
    if (server_ != nullptr) server_->forget(this);
    server_ = nullptr;
    close_handle(reinterpret_cast<uv_handle_t*>(&pipe_));
  }

 private:
  static void on_alloc(uv_handle_t*, std::size_t, uv_buf_t* buf) noexcept {
    thread_local char chunk[512];
    *buf = uv_buf_init(chunk, sizeof chunk);
  }
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept {
    auto* self = net::owner_of<Connection>(s);
    if (self->closing_ || self->answered_) return;
    if (n < 0) {
      self->close();
      return;
    }
    self->request_.append(buf->base, static_cast<std::size_t>(n));
    const auto eol = self->request_.find('\n');
    if (eol == std::string::npos) {
      if (self->request_.size() > kMaxRequest) self->answer("REFUSED request longer than " + std::to_string(kMaxRequest) + " bytes");
      return;
    }
    self->request_.resize(eol);
    self->answer(self->server_ != nullptr ? self->server_->handle(self->request_) : "REFUSED stopping");
  }
  void answer(std::string text) {
    answered_ = true;
    uv_read_stop(stream());
    reply_ = std::move(text) + "\n";
    uv_buf_t b = uv_buf_init(reply_.data(), static_cast<unsigned>(reply_.size()));
    req_.data = static_cast<net::HandleBase*>(this);
    if (uv_write(&req_, stream(), &b, 1, &Connection::on_written) != 0) close();
  }
  static void on_written(uv_write_t* req, int) noexcept {
    static_cast<Connection*>(static_cast<net::HandleBase*>(req->data))->close();
  }

  uv_pipe_t pipe_{};
  uv_write_t req_{};
  ControlServer* server_;
  std::string request_;
  std::string reply_;  // owned by libuv until on_written
  bool answered_ = false;
};

ControlServer::ControlServer(net::Loop& loop, Handler handler) : HandleBase(loop), handler_(std::move(handler)) {
  uv_pipe_init(loop.uv(), &pipe_, 0);
  net::bind_handle(&pipe_, this);
}

Result<net::HandlePtr<ControlServer>> ControlServer::listen(net::Loop& loop, const std::string& path, Handler handler) {
  sockaddr_un probe{};
  if (path.size() >= sizeof probe.sun_path)
    return make_error(1, "control socket path " + path + " is longer than " + std::to_string(sizeof probe.sun_path - 1) +
                             " bytes (a unix socket limit): use a shorter dataDirectory");
  net::HandlePtr<ControlServer> s(new ControlServer(loop, std::move(handler)));
  ::unlink(path.c_str());
  // Created owner-only: the umask is set around the bind so no other user can connect
  // in the moment between bind and chmod.
  const mode_t old_mask = ::umask(0077);
  const int rc = uv_pipe_bind(&s->pipe_, path.c_str());
  ::umask(old_mask);
  if (rc != 0) return make_error(1, "cannot bind control socket " + path + ": " + uv_strerror(rc));
  if (int r = uv_listen(reinterpret_cast<uv_stream_t*>(&s->pipe_), 4, &ControlServer::on_connection); r != 0)
    return make_error(1, "cannot listen on control socket " + path + ": " + uv_strerror(r));
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->pipe_));  // never keeps the broker alive on its own
  s->path_ = path;
  return s;
}

void ControlServer::on_connection(uv_stream_t* st, int status) noexcept {
  auto* self = net::owner_of<ControlServer>(st);
  if (self->closing_ || status < 0) return;
  auto* c = new Connection(self->loop_, self);
  if (uv_accept(st, c->stream()) != 0 || self->connections_.size() >= kMaxConnections) {
    c->detach();
    c->close();
    return;
  }
  self->connections_.insert(c);
  c->start();
}

void ControlServer::close() {
  if (closing_) return;
  handler_ = nullptr;
  for (Connection* c : connections_) c->detach();
  for (Connection* c : std::exchange(connections_, {})) c->close();
  if (!path_.empty()) ::unlink(path_.c_str());
  close_handle(reinterpret_cast<uv_handle_t*>(&pipe_));
}

Result<std::string> control_request(const std::string& path, const std::string& request, int timeout_ms) {
  auto out = unix_request(path, request + "\n", timeout_ms, "control");
  if (out)
    while (!out->empty() && out->back() == '\n') out->pop_back();
  return out;
}

}  // namespace twinmq::app
