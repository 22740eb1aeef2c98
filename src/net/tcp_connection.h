// net/tcp_connection.h — one TCP connection (server-accepted or client-dialled):
// reads into the loop's shared buffer, writes through a two-buffer output queue
// with watermarks.
//
// DESIGN
//  - Output: the user appends encoded frames to output() and calls commit_output().
//    The connection registers with the loop's flush list; at the end of the loop turn
//    flush() moves the pending bytes into the in-flight buffer and writes them
//    (uv_try_write first, uv_write for the rest). One write in flight at a time; the
//    in-flight buffer is untouched until its write callback (libuv does not copy).
//    Both buffers keep their capacity, so a busy connection allocates nothing per
//    frame; only a buffer that a burst grew far past the high watermark is given back
//    (freeing after every write made each burst re-grow from fresh pages).
//  - Back-pressure: queued_bytes() above the high watermark means "stop producing
//    for me" (the broker stops dispatching); on_drained() fires when it falls below
//    the low watermark again. pause_reading() stops reading a producer.
//  - Close: close() is immediate (pending output is dropped, as uv_close cancels
//    writes); close_after_flush() stops reading, lets the output drain (an ERROR
//    frame must arrive before the socket closes), then closes, bounded by a timer.
//  - The handler's on_close() is the last callback, made from the close callback just
//    before this object is freed.
//  - TLS (start_tls, tls/engine.h): the same object, with an Engine between the socket
//    and the handler. Reads feed the ciphertext to the engine and hand the handler the
//    plaintext, decrypted into the same loop read buffer; flush() encrypts pending_
//    into tls_out_ and writes that instead. The handler sees no difference. Output
//    produced before the handshake ends waits in pending_. A failed handshake is
//    logged with the peer's address and closes the connection. Without TLS, tls_ is
//    null and tls_out_ stays empty: the plain path costs one pointer test per read
//    and per flush, and no copy.
//  - Side writes (net/side_writer.h): side_writer() lets one other thread put small
//    whole frames on a plain connection between this object's own writes; flush()
//    then holds the SideWriter's mutex around its writes and finishes a side frame
//    the socket took only in part before anything else.
//
// Lifecycle: heap object, freed in its close callback (net/handle.h). The handler
// holds a raw pointer to it until on_close(). Loop thread only.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "net/handle.h"
#include "net/loop.h"
#include "net/side_writer.h"
#include "net/timer.h"
#include "net/write_guard.h"
#include "tls/engine.h"

namespace twinmq::net {

enum class Errc { ok = 0, resolve_failed, bind_failed, listen_failed, connect_failed };

class ConnectionHandler {
 public:
  // Client side only: the connect attempt finished (status 0 = connected, else a
  // libuv error code; on error on_close follows).
  virtual void on_connected(int status) { (void)status; }
  virtual void on_data(std::string_view bytes) = 0;
  // Output fell below the low watermark after having been above the high one.
  virtual void on_drained() {}
  // Last callback. status: 0 = closed by us, UV_EOF = peer closed, else error.
  virtual void on_close(int status) = 0;

 protected:
  ~ConnectionHandler() = default;
};

struct Watermarks {
  std::size_t high = 1u << 20;  // stop producing above this
  std::size_t low = 256u << 10; // resume below this
};

class TcpConnection final : public HandleBase, private Flushable {
 public:
  // Accepts a pending connection on `server`; nullptr if accept failed (logged).
  static TcpConnection* accept(Loop& loop, uv_stream_t* server, ConnectionHandler* handler);
  // Dials addr; the outcome arrives in handler->on_connected().
  static TcpConnection* connect(Loop& loop, const sockaddr* addr, ConnectionHandler* handler);

  void set_handler(ConnectionHandler* handler) { handler_ = handler; }
  // Every write this connection starts must first pass `guard` (net/write_guard.h);
  // output queued when it refuses is dropped. nullptr = unguarded (the default). Not
  // with a side writer (it would write past the guard).
  void set_write_guard(const WriteGuard* guard);
  // Lets another thread write whole frames on this connection (net/side_writer.h).
  // nullptr for TLS, a guarded or a closing connection. Made once; later calls return
  // the same writer.
  std::shared_ptr<SideWriter> side_writer();
  void set_watermarks(Watermarks w) { marks_ = w; }
  // Speak TLS through `engine` from now on. Call right after accept() or connect(),
  // in the same callback, before any byte was read or written.
  void start_tls(std::unique_ptr<tls::Engine> engine);
  bool tls() const { return tls_ != nullptr; }
  // Why the TLS session failed ("" when it did not, or without TLS); still valid in the
  // handler's on_close().
  std::string_view tls_failure() const;

  std::string& output() { return pending_; }
  void commit_output();
  std::size_t queued_bytes() const {
    return pending_.size() + tls_out_.size() + (inflight_.size() - inflight_off_);
  }
  // True above the high watermark. Whoever sees "true" is promised an on_drained()
  // later, so crossing is recorded here, whichever path observed it first.
  bool above_high_watermark() const {
    if (queued_bytes() < marks_.high) return false;
    above_high_ = true;
    return true;
  }

  void pause_reading();
  void resume_reading();

  void close() override { close_with(0); }
  void close_with(int status);
  // Stop reading, send what is queued, then close (after at most `bound_ms`).
  void close_after_flush(std::uint64_t bound_ms = 2000);
  bool draining_to_close() const { return close_when_drained_; }

  const std::string& peer() const { return peer_; }

 private:
  TcpConnection(Loop& loop, ConnectionHandler* handler);
  ~TcpConnection() override;

  void start_reading();
  void flush() override;
  void after_write(int status);
  void maybe_drained();
  void on_tls_read(const char* data, std::size_t size);
  void tls_failed(const char* when);
  void encrypt_pending();
  bool has_unsent() const { return !pending_.empty() || !tls_out_.empty(); }
  bool side_remainder() const;  // a side frame waits to be finished (side_writer.h rule 2)

  static void on_alloc(uv_handle_t* h, std::size_t suggested, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_write(uv_write_t* req, int status) noexcept;
  static void on_connect(uv_connect_t* req, int status) noexcept;

  uv_tcp_t tcp_{};
  uv_write_t write_req_{};
  uv_connect_t connect_req_{};
  ConnectionHandler* handler_;
  const WriteGuard* guard_ = nullptr;
  std::string pending_;        // appended to by the user
  std::string inflight_;       // owned by libuv until on_write
  std::size_t inflight_off_ = 0;
  Watermarks marks_;
  std::string peer_;
  HandlePtr<Timer> close_timer_;
  std::shared_ptr<SideWriter> side_;  // null: no other thread writes here
  std::unique_ptr<tls::Engine> tls_;  // null: plain TCP
  std::string tls_out_;               // ciphertext waiting for the socket (TLS only)
  int close_status_ = 0;
  bool write_in_flight_ = false;
  bool flush_registered_ = false;
  bool reading_ = false;
  bool read_paused_ = false;
  mutable bool above_high_ = false;
  bool close_when_drained_ = false;
};

// Resolves host (IP literal, "localhost", or a name via getaddrinfo — blocking, so
// only at start-up or in tools) and port into a socket address.
Result<sockaddr_storage> resolve(const std::string& host, std::uint16_t port);

// "ip:port" for a socket address.
std::string format_address(const sockaddr* addr);

}  // namespace twinmq::net
