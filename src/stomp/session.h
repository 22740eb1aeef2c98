// stomp/session.h — one client connection's STOMP protocol state machine.
//
// DESIGN
//  - Bytes → FrameParser → dispatch (dispatch.cc: one handle_* per command, in its
//    own file) → broker::Broker. The broker answers through broker::Client: deliver()
//    encodes a MESSAGE straight into the connection's output buffer.
//  - Receipts are held in the ReplyGate: a frame whose state change has Seq N gets its
//    RECEIPT only once the gate has released N (journal durable, slave applied). Each
//    session keeps its pending replies in a FIFO, so one connection's replies never
//    overtake each other (a receipt for a frame that changed nothing still waits
//    behind an earlier held one).
//  - Errors: a handler returns an Error whose code is a ProtocolErrc; dispatch.cc is the
//    one place that turns it into an ERROR frame (message header + body), flushes it
//    and closes the connection (close_after_flush).
//  - Back-pressure: above the output high watermark the broker stops dispatching to
//    us (can_accept) and we stop reading from the peer; both resume in on_drained.
//    A peer further behind than max_pending_output is closed as a slow consumer.
//    A connection holding max_unacked unacknowledged deliveries is not dispatched to
//    either, until an ACK, NACK, COMMIT or UNSUBSCRIBE brings it below (not an error).
//  - Limits against a hostile client (README "STOMP support"): subscriptions and open
//    transactions per connection (an ERROR naming the limit), and a frame must end within
//    frame_timeout_ms of the read that brought its first byte (a client trickling one
//    byte a second is dropped; the connect timeout covers the CONNECT frame the same way).
//    A header that this subscriber's version cannot carry is left out of its MESSAGE
//    (stomp/frame_writer.h can_carry), never written raw.
//  - Producer flow control (stomp/flow_control.cc): a SEND or COMMIT the broker refuses
//    for want of memory or store room waits, held with the frames behind it, and is
//    tried again when the broker reports room; ACK/NACK frames keep being processed
//    meanwhile, and reading stops once 256 KiB of other frames wait behind it.
//
//  - Login (README "Security"): a CONNECT whose password is a crypt(3) hash is checked on
//    libuv's thread pool (auth/password_check.h); meanwhile the session is in
//    awaiting_login, reads nothing, and keeps the bytes that came after the CONNECT in
//    held_after_connect_, to parse them once CONNECTED is sent (their escaping depends on the version
//    the CONNECT negotiated). A refused SEND or SUBSCRIBE (auth/authorization.h) is an
//    ERROR and a close, like every other ERROR of this connector.
//
// States: awaiting_connect (only CONNECT/STOMP accepted; dropped after the connect
// timeout) → awaiting_login (a password check is running; nothing read) → connected →
// closing (terminal: nothing is processed any more).
//
// Lifecycle: created by StompServer on accept; self-owned; freed in on_close() when
// its TcpConnection is gone (after detaching from the broker). Loop thread only.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <vector>

#include "auth/password_check.h"
#include "auth/security.h"
#include "base/ids.h"
#include "base/result.h"
#include "broker/broker.h"
#include "broker/ring.h"
#include "net/tcp_connection.h"
#include "stomp/errors.h"
#include "stomp/frame.h"
#include "stomp/frame_parser.h"
#include "stomp/held_frame.h"
#include "stomp/negotiate.h"

namespace twinmq::stomp {

class StompServer;

class Session final : public net::ConnectionHandler, public broker::Client, private FrameSink {
 public:
  Session(StompServer& server, std::uint64_t number, net::TcpConnection* conn);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // net::ConnectionHandler
  void on_data(std::string_view bytes) override;
  void on_drained() override;
  // Why this connection is not read: its own output is above the high watermark, the
  // server holds every connection (the slave is behind: StompServer::hold_reading), flow
  // control, its CONNECT's password is being checked on a worker (awaiting_login), or it
  // has kMaxHeldReplies receipts waiting for the journal or the slave.
  enum PauseReason : std::uint8_t {
    kOutputFull = 1,
    kServerHold = 2,
    kFlowControl = 4,
    kLoginCheck = 8,
    kReceiptsHeld = 16
  };
  // A producer that pipelines receipted SENDs faster than the journal or the slave
  // confirms them would otherwise be read without bound, each held receipt kept in
  // pending_. Past this many the connection is not read (back-pressure, no error)
  // until half of them went out. A read already taken is still processed, so the
  // count can pass it by one read's frames.
  static constexpr std::size_t kMaxHeldReplies = 4096;
  void set_paused(std::uint8_t reason, bool on);
  void on_close(int status) override;

  // broker::Client
  bool can_accept() const override;
  void deliver(const broker::Delivery& d) override;
  void on_released(Seq released) override;
  void on_room() override;

  // From StompServer's retry timer after on_room(): the waiting frame is tried again,
  // then the frames held behind it (flow_control.cc).
  void retry_held();

  // Periodic check from StompServer: connect timeout, heart-beats.
  void check_deadlines(std::int64_t now_ms);
  // Server shutdown: flush and close.
  void shutdown();
  // The broker stopped serving: drop every queued frame (none of it may reach the
  // client now), send an ERROR saying `why`, close. False if already closing.
  bool fence(std::string_view why);

 private:
  enum class State { awaiting_connect, awaiting_login, connected, closing };
  // What a CONNECT asked for, kept while its password is checked.
  struct ConnectRequest {
    Version version = Version::v1_0;
    HeartBeat theirs{};
    std::string client_id;
    std::string login;
  };
  enum class ReplyKind : std::uint8_t { receipt, disconnect };
  struct PendingReply {
    Seq seq;
    bool persistent;  // waits for durability too (ReplyGate::released_for)
    ReplyKind kind;
    std::string receipt_id;  // empty = none (a DISCONNECT without receipt)
  };

  // What became of a frame: processed (or failed with an ERROR: then closing), or
  // waiting for room.
  enum class Outcome : std::uint8_t { processed, waiting, closing };

  // FrameSink
  bool on_frame(const Frame& frame) override;
  Outcome process(const Frame& frame);

  // flow_control.cc
  // `error` refused `frame` for want of room: keep it (unless it is already the held
  // front) and ask the broker to say when there is room; or fail with sendFailIfNoSpace.
  Outcome wait_for_room(const Frame& frame, const Error& error, bool already_held);
  // A frame that arrives while one waits: ACK/NACK pass, the rest is held.
  bool hold_behind(const Frame& frame);
  void check_waiting(std::int64_t now_ms);
  void on_heartbeat() override { ++heart_beats_in_; }

  // dispatch.cc
  Result<Seq> dispatch(const Frame& frame);
  void fail(const Error& error, const Frame* frame);
  // handle_*.cc
  Result<Seq> handle_connect(const Frame& frame);
  // handle_connect.cc: the end of a login, now or when the worker answers.
  Result<Seq> finish_connect(const ConnectRequest& request, std::string user, std::vector<std::string> groups);
  void on_password_checked(bool known_user, bool password_ok);
  void login_failed(std::string_view reason);
  // authorize.cc: an error when this connection's user lacks `right` (or the admin
  // right, when the destination does not exist yet) on `destination`.
  Result<void> authorize(std::string_view destination, auth::Right right, std::string_view command);
  Result<Seq> handle_send(const Frame& frame);
  Result<Seq> handle_subscribe(const Frame& frame);
  Result<Seq> handle_unsubscribe(const Frame& frame);
  Result<Seq> handle_ack(const Frame& frame, bool nack);
  Result<Seq> handle_begin(const Frame& frame);
  Result<Seq> handle_commit(const Frame& frame);
  Result<Seq> handle_abort(const Frame& frame);
  Result<Seq> handle_disconnect(const Frame& frame);

  // Replies
  void queue_reply(Seq seq, bool persistent, ReplyKind kind, std::string_view receipt_id);
  void release_replies();
  void write_receipt(std::string_view receipt_id);
  void written();  // commit output, bookkeeping, slow-consumer check
  // After a frame that may settle deliveries: the broker's count replaces ours, and
  // dispatch resumes if the unacknowledged limit had paused it.
  void recount_unacked();
  void close_now(std::string_view reason);
  void close_after_flush(std::string_view reason);

  StompServer& server_;
  broker::Broker& broker_;
  net::TcpConnection* conn_;
  std::uint64_t number_;
  std::string peer_;
  State state_ = State::awaiting_connect;
  ConnId conn_id_{};  // set once attached to the broker (after CONNECT)
  FrameParser parser_;
  Version version_ = Version::v1_0;
  HeartBeatPlan heart_beat_{};
  std::int64_t opened_ms_ = 0;
  std::int64_t last_read_ms_ = 0;
  std::int64_t last_write_ms_ = 0;
  // Not std::deque (nor below): libstdc++'s allocates a block and its map even while
  // empty, which was 1.1 KiB of every idle connection's 3.5 (broker/ring.h says more).
  broker::Ring<PendingReply> pending_;
  std::vector<broker::HeaderView> header_scratch_;  // reused for every SEND
  Seq last_seq_{0};  // newest event this connection caused (DISCONNECT's receipt waits for it)
  std::uint64_t frames_in_ = 0;
  std::uint64_t heart_beats_in_ = 0;
  std::uint64_t messages_out_ = 0;
  // Deliveries awaiting ACK: counted up per delivery, recounted from the broker after
  // every frame that can settle some (so it is never below the broker's own count).
  std::size_t unacked_ = 0;
  bool unacked_paused_ = false;  // can_accept() said no because of max_unacked
  // When the read that brought the unfinished frame's first byte arrived; 0 between
  // frames (the parser buffers nothing then).
  std::int64_t frame_started_ms_ = 0;
  std::uint64_t receipt_pauses_ = 0;  // times kReceiptsHeld was set (for its log line)
  std::uint8_t paused_ = 0;  // PauseReason bits: read nothing from the peer while any is set
  // Flow control: the front frame waits for room; the rest arrived behind it.
  // A list: a HeldFrame's views point into its own strings, so it must never move.
  std::list<HeldFrame> held_;
  std::size_t held_bytes_ = 0;   // of the frames in held_
  bool retry_scheduled_ = false;
  bool retrying_ = false;        // process() is working on held_.front()
  std::int64_t waiting_since_ms_ = 0;
  Error waiting_error_;          // why the front frame waits (the broker's words)
  std::int64_t wait_logged_ms_ = 0;
  // Login: who this connection is (set at CONNECTED), and the check in flight.
  std::string user_;
  std::vector<std::string> groups_;
  ConnectRequest connect_request_;
  auth::PasswordCheck* password_check_ = nullptr;  // owned by itself; cancelled in on_close
  std::string held_after_connect_;  // bytes read after a CONNECT whose login is being checked
};

}  // namespace twinmq::stomp
