// client/connection.h — one STOMP client connection driven by a net::Loop.
//
// DESIGN
//  - Non-blocking and cheap: many StompConnections share one loop (twinmq-bench runs
//    thousands on one thread). Every frame is encoded straight into the
//    TcpConnection's output buffer, which keeps its capacity, so once warm a SEND
//    allocates nothing; the loop's prepare hook writes everything a turn produced
//    in one write.
//  - Receipt ids are numbers the connection hands out ("r1", "r2", ...): send() and
//    friends return the number (0 = none asked) and on_receipt() reports the id text.
//  - Back-pressure: queued_bytes() / writable(); on_writable() fires once the
//    output falls back under the low watermark after having been over the high one.
//  - Heart-beats and the CONNECTED deadline live in one housekeeping timer (the
//    periodic-check rule of ARCHITECTURE.md "How we write code"), which is released once nothing needs it, so an
//    idle connection without heart-beats costs only its socket.
//  - Events go to a StompListener. Frames passed to it are views into the read
//    buffer, valid only during the callback.
//
// State machine (one enter() logs every change):
//
//   awaiting_tcp ──► awaiting_connected ──► connected ──► awaiting_disconnect_receipt
//        │                   │                  │                    │
//        └───────────────────┴──────────────────┴────────────────────┴──► closed
//
// Lifecycle: owned by its user (unique_ptr or member); open() once. Destroying it
// closes the socket without a DISCONNECT and without a callback. Do not destroy it
// from inside a listener callback other than on_closed(), which is the last one.
// Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "net/loop.h"
#include "net/tcp_connection.h"
#include "net/timer.h"
#include "stomp/frame.h"
#include "stomp/frame_parser.h"
#include "stomp/frame_writer.h"
#include "stomp/negotiate.h"
#include "twinmq/client.h"

namespace twinmq::client {

class StompConnection;

// Why a connection closed.
enum class CloseReason {
  requested,           // close() or a completed DISCONNECT
  peer_closed,         // the broker closed the socket
  connect_failed,      // TCP connect refused / unreachable
  connect_timeout,     // no CONNECTED within ConnectOptions::timeout
  heart_beat_timeout,  // the broker fell silent past twice its heart-beat interval
  server_error,        // closed after an ERROR frame
  protocol_error,      // the broker sent bytes that are not STOMP
  io_error,            // any other socket error
};
std::string_view close_reason_name(CloseReason reason);

struct CloseInfo {
  CloseReason reason = CloseReason::requested;
  std::string detail;  // the ERROR's message, the libuv error text, ...
};

class StompListener {
 public:
  virtual void on_connected(StompConnection& c, const stomp::Frame& connected) {
    (void)c, (void)connected;
  }
  virtual void on_message(StompConnection& c, const stomp::Frame& message) = 0;
  virtual void on_receipt(StompConnection& c, std::string_view receipt_id) {
    (void)c, (void)receipt_id;
  }
  // The connection closes right after (brokers close after ERROR); on_closed follows.
  virtual void on_error(StompConnection& c, const stomp::Frame& error) { (void)c, (void)error; }
  virtual void on_writable(StompConnection& c) { (void)c; }
  // Last callback; the connection may be destroyed inside it.
  virtual void on_closed(StompConnection& c, const CloseInfo& why) { (void)c, (void)why; }

 protected:
  ~StompListener() = default;
};

struct SendFrame {
  std::string_view destination{};
  std::string_view body{};
  bool persistent = false;
  bool receipt = false;
  std::string_view transaction{};             // empty = none
  std::span<const stomp::Header> headers{};   // extra, written after the standard ones
};

// The ids a MESSAGE gives for acknowledging it; views into the frame.
struct AckIds {
  std::string_view ack{};           // `ack` header (1.2); falls back to message-id
  std::string_view message_id{};
  std::string_view subscription{};
  static AckIds of(const stomp::Frame& message);
};

class StompConnection final : private net::ConnectionHandler, private stomp::FrameSink {
 public:
  enum class State {
    awaiting_tcp,                 // TCP connect in progress (CONNECT already encoded)
    awaiting_connected,           // CONNECT sent, waiting for CONNECTED
    connected,                    // frames flow both ways
    awaiting_disconnect_receipt,  // DISCONNECT sent; close on its RECEIPT
    closed,                       // terminal
  };

  StompConnection(net::Loop& loop, StompListener& listener);
  ~StompConnection();
  StompConnection(const StompConnection&) = delete;
  StompConnection& operator=(const StompConnection&) = delete;

  // Dials `addr`, sends CONNECT once TCP is up. `virtual_host` is the `host`
  // header when options.virtual_host is empty. Only the heart-beat offer and the
  // timeout are kept from `options`.
  // `tls`: speak TLS with this client context, checking the server's certificate
  // names `virtual_host` (twinmq-bench --tls-ca); null = plain TCP.
  void open(const sockaddr* addr, const ConnectOptions& options, std::string_view virtual_host,
            const tls::Context* tls = nullptr);

  State state() const { return state_; }
  bool is_connected() const { return state_ == State::connected; }
  // CONNECTED arrived at some point (tells a failed attempt from a lost session).
  bool ever_connected() const { return ever_connected_; }
  stomp::Version version() const { return version_; }
  const std::string& session() const { return session_; }
  const std::string& server() const { return server_; }
  const stomp::HeartBeatPlan& heart_beat() const { return plan_; }

  // Each returns the receipt number it asked for, or 0. Frames written while not
  // connected are dropped (return 0).
  std::uint64_t send(const SendFrame& frame);
  std::uint64_t subscribe(std::string_view destination, std::string_view id, AckMode mode,
                          std::span<const stomp::Header> headers = {}, bool receipt = false);
  std::uint64_t unsubscribe(std::string_view id, bool receipt = false);
  std::uint64_t ack(const AckIds& ids, std::string_view transaction = {}, bool receipt = false);
  std::uint64_t nack(const AckIds& ids, std::string_view transaction = {}, bool receipt = false);
  std::uint64_t begin(std::string_view transaction, bool receipt = false);
  std::uint64_t commit(std::string_view transaction, bool receipt = false);
  std::uint64_t abort(std::string_view transaction, bool receipt = false);
  // DISCONNECT; with a receipt the socket closes when it arrives, else at once
  // after the output drains.
  std::uint64_t disconnect(bool receipt = true);
  // Raw bytes, whatever the state (protocol tests). False once closed.
  bool send_raw(std::string_view bytes);

  // Closes the socket now, dropping unsent output; on_closed(requested) follows.
  void close();

  std::size_t queued_bytes() const { return tcp_ ? tcp_->queued_bytes() : 0; }
  bool writable() const { return tcp_ && !tcp_->above_high_watermark(); }
  void set_watermarks(net::Watermarks marks);
  // Makes room for `bytes` more output in one allocation, before a batch of frames
  // (the buffer would otherwise grow by doubling, copying as it goes).
  void reserve_output(std::size_t bytes) {
    if (tcp_) tcp_->output().reserve(tcp_->output().size() + bytes);
  }

  // "r<N>" -> N; 0 for any id this connection did not make.
  static std::uint64_t receipt_number(std::string_view receipt_id);

 private:
  // net::ConnectionHandler
  void on_connected(int status) override;
  void on_data(std::string_view bytes) override;
  void on_drained() override;
  void on_close(int status) override;
  // stomp::FrameSink
  bool on_frame(const stomp::Frame& frame) override;
  void on_heartbeat() override {}

  void enter(State next, std::string_view reason);
  void fail(CloseReason reason, std::string detail);
  void on_connected_frame(const stomp::Frame& frame);
  void housekeeping();
  std::uint64_t ack_or_nack(stomp::Command command, const AckIds& ids,
                            std::string_view transaction, bool receipt);
  std::uint64_t simple_frame(stomp::Command command, std::string_view name,
                             std::string_view value, bool receipt);
  std::uint64_t add_receipt(stomp::FrameWriter& w);
  void committed();

  net::Loop& loop_;
  StompListener& listener_;
  net::TcpConnection* tcp_ = nullptr;   // until on_close
  net::HandlePtr<net::Timer> housekeeping_;
  stomp::FrameParser parser_;
  State state_ = State::awaiting_tcp;
  stomp::Version version_ = stomp::Version::v1_0;
  stomp::HeartBeat offer_;
  stomp::HeartBeatPlan plan_;
  std::string session_;
  std::string server_;
  CloseInfo close_info_;
  bool close_info_set_ = false;
  bool ever_connected_ = false;
  net::Watermarks marks_;
  std::uint64_t last_read_ms_ = 0;      // uv_now at the last byte received
  std::uint64_t last_write_ms_ = 0;     // uv_now at the last frame written
  std::uint64_t next_receipt_ = 1;
  std::uint64_t disconnect_receipt_ = 0;
};

std::string_view state_name(StompConnection::State state);

}  // namespace twinmq::client
