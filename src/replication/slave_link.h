// replication/slave_link.h — the slave's end of the replication link: dials the
// master, receives its state and every event, applies them through the code recovery
// uses, acknowledges what its journal holds durably, and when the master goes away
// either takes over (promotion) or exits, as shutdownOnMasterFailure says.
//
// DESIGN
//  - Applying: each streamed event goes to broker.apply() (the recovery path), then to
//    the journal's on_replicated_event() with the bytes as received (apply() does not
//    pass through the event log; the journal writes the master's encoding), and the
//    event log continues at that Seq. Sequence numbers must be consecutive; anything
//    that does not decode or apply is never skipped: the slave drops the link and exits
//    (kExitMirrorFailed) without taking over.
//  - Acknowledging: the slave's own ReplyGate has one source, its journal; a small
//    broker::Client (Acker) waits on that gate, so every time the journal makes more
//    events durable, one cumulative Applied goes to the master. Without a journal
//    (persistent="false") Applied follows what is applied in memory. While streaming on
//    a plain TCP link, the journal's writer thread sends that Applied itself right after
//    its fdatasync (replication/direct_ack.h), and the loop sends only what it could
//    not: one thread hand-off less on the receipt path.
//  - Back-pressure: a slave whose disk is slower than the load stops reading the link
//    while more than kDiskBehindHigh bytes wait for its journal, and reads again once
//    they are down to kDiskBehindLow. The master then sees its link back up and holds
//    its clients (MasterLink "Back-pressure"): memory stays bounded on both sides, and
//    the slave is never dropped for being slow as long as it acknowledges within the
//    link timeout. Silence from the master is not counted while we do not read.
//  - Taking over only from an in-sync state (the lesson of ActiveMQ's boot split-brain):
//    a slave that never got InSync — it cannot reach its master, it was refused for a
//    transient reason, its link broke during the initial sync — keeps its connectors
//    closed and keeps trying, logging why. Once in sync, link loss (EOF, error, or
//    heart-beat silence past the link timeout) or a Shutdown frame promotes it: bump the
//    store epoch, flag every message redelivered, open the client connectors.
//  - With a witness, losing an in-sync link does not promote by itself: the slave
//    stays eligible, keeps dialling its master, and between dials tries to win the
//    pair's key (WitnessPort::take_over), never before its own promise ran out (the
//    master's link timeout after it last heard from the master, answering its probes
//    at once meanwhile). It promotes once it wins; it gives up eligibility when the
//    witness says another broker confirmed work without it, or when its master
//    answers again (then it resyncs).
//  - Not taking over when the master is alive and said so: Reject{slave_dropped}, or
//    this process itself was paused longer than the master's link timeout (then the
//    master has dropped it already); the slave reconnects and resyncs instead.
//  - Initial sync (replication/initial_sync.h): on Welcome the local state is discarded
//    (SlaveHost::discard_state), the snapshot written as a journal checkpoint, the
//    journal reopened over it. The reopening replays the whole copy (seconds for a
//    GiB), so it runs on a worker (SlaveHost::reopen_state_async) into a fresh journal
//    and broker that the host adopts when it is done; meanwhile this loop keeps
//    running: heart-beats go out, status answers, and the link is not read (the frames
//    after SnapshotEnd wait in the socket and the FrameReader's hold, the master keeps
//    the rest in its journal: nothing piles up in memory on either side). Until then
//    the slave does not dial again either: a new Welcome would discard the store being
//    replayed. A Welcome with catch_up_from
//    keeps the local state instead (it is the master's history up to there, checked by
//    the master) and the missed events simply stream in; the first Applied waits until
//    the master's decision point (snapshot_seq), as after a copy. With epoch_starts (an
//    old master catching up with the broker that took over) the journal enters each
//    newer epoch right before that epoch's first seq (enter_epochs), as the master's did.
//  - Rejoin with a forked tail (Reject{forked_tail}): the tail is salvaged to a file;
//    then, if it may have been confirmed, the process stops; otherwise the store is cut
//    back to the fork (SlaveHost::cut_forked_tail, store/cut_tail.h) and recovered, and
//    the slave dials again: now a prefix of the master's history, it catches up from
//    the fork. A checkpoint that merged the tail cannot be cut: then it attaches as an
//    empty store (a full copy), and the log says why.
//
// STATES (Redis repl_state style: each named for what it waits for):
//   awaiting_connection  dialling the master or waiting to dial again (backoff)
//   awaiting_welcome     connected, Hello sent
//   awaiting_snapshot    Welcome received: SnapshotBegin/Chunk/End expected
//   awaiting_in_sync     snapshot installed, applying events; not yet told InSync
//   streaming            in sync: if the master fails, take over (or exit)
//   promoted             terminal: serving as a standalone master
//   exited               terminal: the process is exiting with a replication exit code
//   stopped              terminal: asked to stop (SIGTERM)
// Timeouts (connect, handshake, heart-beat silence) and heart-beats live in one
// periodic check.
//
// Lifecycle: owned by app::Runtime of a slave; start() after the journal is open,
// close() on shutdown. Loop thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "broker/broker.h"
#include "net/loop.h"
#include "net/timer.h"
#include "replication/direct_ack.h"
#include "replication/initial_sync.h"
#include "replication/protocol.h"
#include "replication/role.h"
#include "replication/status.h"
#include "replication/witness_port.h"
#include "store/event_codec.h"
#include "store/identity.h"
#include "store/journal.h"
#include "tls/context.h"

namespace twinmq::replication {

// What the slave link needs from the process around it (app::Runtime).
class SlaveHost {
 public:
  virtual broker::Broker& broker() = 0;
  // Null when persistent="false", and while an initial sync replaces the store.
  virtual store::Journal* journal() = 0;
  // The journal directory ("" when persistent="false").
  virtual std::string journal_dir() const = 0;
  // Replaces the local state by an empty one: closes the journal, removes its files,
  // makes the store adopt `identity` (when given), and creates a fresh broker.
  virtual Result<void> discard_state(const std::optional<store::StoreIdentity>& identity) = 0;
  // Opens the journal again over the checkpoint the initial sync wrote, replaying it
  // into the (fresh) broker.
  virtual Result<void> reopen_state() = 0;
  // The same with the replay on a worker thread, so this loop keeps running (a 1 GiB
  // copy takes seconds to replay): `done` comes on the loop thread once the host has
  // adopted the new journal and broker (journal() and broker() are theirs), or with the
  // error. The default replays at once, on this thread.
  virtual void reopen_state_async(std::function<void(Result<void>)> done) { done(reopen_state()); }
  // Opens the client connectors and starts housekeeping: this broker now serves.
  virtual void promote(const std::string& reason) = 0;
  // Stops the process with `code` (a replication exit code).
  virtual void exit_process(int code, const std::string& reason) = 0;
  // The link state changed (in sync, lost, promoted, ...): called from inside the
  // change, so the host may only take note (systemd STATUS=, app/service_notify.h).
  virtual void link_changed() {}
  // Rejoin: closes the journal (journal() is nullptr afterwards) and writes the store's
  // events after `fork` that left messages live to a salvage file.
  struct SalvagedTail {
    std::string file;          // empty: no message of the tail is live (nothing to keep)
    std::uint64_t events = 0;  // event records after the fork
    std::uint64_t messages = 0;
    std::string listing;       // per destination, for the log
  };
  virtual Result<SalvagedTail> salvage_forked_tail(Seq fork) = 0;
  // Rejoin, after salvage_forked_tail(): cuts the store back to `fork`
  // (store/cut_tail.h) and recovers it into a fresh broker, so the old master catches
  // up from the fork instead of taking a full copy. Not cut (why_not says why) when a
  // checkpoint already merged the tail: the journal stays closed.
  struct CutTail {
    bool cut = false;
    std::string why_not;
    Seq last_seq;  // the recovered state's position
  };
  virtual Result<CutTail> cut_forked_tail(Seq fork) = 0;

 protected:
  ~SlaveHost() = default;
};

struct SlaveOptions {
  std::string broker_name;
  std::string master_uri;  // as configured, for logs
  std::string master_host;
  std::uint16_t master_port = 62001;
  std::string user_name;
  std::string password;
  bool persistent = true;
  bool shutdown_on_master_failure = false;
  std::uint32_t heart_beat_ms = 500;
  std::uint32_t link_timeout_ms = 3000;
  std::uint32_t min_backoff_ms = 100;
  std::uint32_t max_backoff_ms = 2000;
  // The pair's witness (replication/witness_port.h); nullptr = none. Not owned.
  WitnessPort* witness = nullptr;
  // <journal syncOnWrite>, told to the master (which refuses a mismatch).
  bool sync_on_write = true;
  // An old master rejoining the broker that took over (twinmq --rejoin): events of its
  // store after the fork are salvaged to a file, then it attaches as an empty store —
  // at once when the witness shows they were never confirmed, or when
  // discard_forked_tail says the operator accepts it; else it stops (kExitRejected).
  bool rejoin = false;
  bool discard_forked_tail = false;
  // This broker's own replication listener ("tcp://host:port" or "ssl://...", empty: none or port 0),
  // told to the master: after a planned switchover the master rejoins it there.
  std::string replication_listener;
  // ssl:// master: the link speaks TLS with this client context (our certificate, and
  // trustedCAs to check the master's, which must name master_host). Null = plain TCP.
  std::shared_ptr<tls::Context> tls;
};

class SlaveLink {
 public:
  SlaveLink(net::Loop& loop, SlaveHost& host, SlaveOptions options);
  ~SlaveLink();
  SlaveLink(const SlaveLink&) = delete;
  SlaveLink& operator=(const SlaveLink&) = delete;

  // Starts dialling the master.
  void start();
  // The process stops (SIGTERM): close the link, never take over.
  void close();

  Role role() const { return role_.role(); }
  LinkStatus status();

  class Conn;   // one connection attempt (slave_link.cc)
  class Acker;  // the broker::Client that learns of durable progress

  // --- for Conn / Acker ---------------------------------------------------------
  void on_connected(Conn& c, int status);
  bool on_frame(Conn& c, const fbr::Frame& frame);
  void on_conn_closed(Conn& c, int status);
  void on_released();
  void on_read_error(Conn& c, const std::string& why);

 private:
  enum class State {
    awaiting_connection,
    awaiting_welcome,
    awaiting_snapshot,
    awaiting_in_sync,
    streaming,
    promoted,
    exited,
    stopped,
  };
  static std::string_view state_name(State s);
  void enter(State next, std::string_view reason);
  bool terminal() const { return state_ == State::promoted || state_ == State::exited || state_ == State::stopped; }

  void dial();
  void send_hello();
  // Proves the password the Hello left out (auth/challenge.h).
  void on_challenge(const fbr::Challenge& c);
  void on_welcome(const fbr::Welcome& w);
  void on_snapshot_begin(const fbr::SnapshotBegin& b);
  void on_snapshot_chunk(const fbr::SnapshotChunk& c);
  void on_snapshot_end(const fbr::SnapshotEnd& e);
  void on_state_reopened(Result<void> r);  // the worker's replay of the copy is adopted
  void on_events(const fbr::Events& e);
  void on_reject(const fbr::Reject& r);
  void on_forked_tail(Seq fork, const std::string& why);
  void leave_forked_tail(Seq fork, bool confirmed_impossible, const std::string& why);
  // A catch-up across epochs: enters every epoch of epoch_starts_ that begins at or
  // before the next seq. False after mirror_failed().
  bool enter_epochs();
  void ack();
  // Starts the writer thread's Applied (direct_ack_) while streaming on a plain link
  // with a journal, stops it otherwise. From enter() and close_conn().
  void update_direct_ack();
  // The last Applied sent, by the loop or by the writer thread (direct_ack_), which the
  // loop's acked_ learns only at its next ack().
  Seq acknowledged() {
    acked_ = std::max(acked_, direct_ack_.sent());
    return acked_;
  }
  void attach_acker();
  void detach_acker();

  // The link is gone (or must go): decide between retrying, taking over and exiting.
  void link_lost(const std::string& reason);
  void retry(const std::string& reason, std::uint32_t at_least_ms = 0);
  void master_lost(const std::string& reason);
  void attempt_take_over();
  void promote(const std::string& reason);
  void mirror_failed(const std::string& why);
  void periodic();
  void close_conn();
  void sent();
  void check_disk_behind();  // pauses reading the link when the journal is far behind
  void disk_caught_up();

  net::Loop& loop_;
  SlaveHost& host_;
  const SlaveOptions options_;
  RoleState role_;
  State state_ = State::awaiting_connection;
  net::HandlePtr<net::Timer> timer_;
  Conn* conn_ = nullptr;
  // Not reading the link because the journal is behind (check_disk_behind); the token
  // tells the journal's callback whether this link still exists.
  bool disk_paused_ = false;
  std::shared_ptr<SlaveLink*> alive_ = std::make_shared<SlaveLink*>(this);
  std::uint64_t disk_pauses_ = 0;
  std::int64_t disk_logged_ms_ = 0;
  std::unique_ptr<Acker> acker_;
  ConnId acker_id_;
  broker::Broker* acker_broker_ = nullptr;

  FrameWriter writer_;
  bool challenged_ = false;  // this connection's Challenge was answered (one per Hello)
  DirectAck direct_ack_;
  store::EventDecoder decoder_;
  std::unique_ptr<SnapshotReceiver> receiver_;
  bool installing_ = false;  // the copy is being replayed on a worker (see DESIGN)
  std::optional<WelcomeInfo> welcome_;
  std::optional<store::StoreIdentity> adopted_;  // identity taken from the master (store emptied)
  // A catch-up across epochs (Welcome.epoch_starts) and the next of them to enter.
  std::vector<EpochStart> epoch_starts_;
  std::size_t next_epoch_start_ = 0;

  Seq applied_;       // last event applied
  Seq acked_;         // last Applied sent
  Seq ack_floor_;     // a catch-up: no Applied before the master's decision point
  Seq master_last_;   // the master's position as last heard
  bool paused_ = false;       // this process was paused longer than the master's timeout
  std::int64_t paused_at_ms_ = 0;
  std::uint32_t backoff_ms_ = 0;
  std::int64_t next_attempt_ms_ = 0;
  std::int64_t attempt_started_ms_ = 0;
  std::int64_t last_received_ms_ = 0;
  std::int64_t last_sent_ms_ = 0;
  std::int64_t last_check_ms_ = 0;
  std::string last_failure_;
  std::int64_t last_failure_log_ms_ = 0;
  std::uint64_t attempts_ = 0;

  // With a witness (see DESIGN): the master's link, lost while in sync, may still be
  // taken over from, once the key is won, not before takeover_not_before_ns_.
  std::int64_t last_received_boot_ns_ = 0;
  bool planned_stop_ = false;   // the master said Shutdown: no promise to wait out
  bool eligible_ = false;
  bool takeover_in_flight_ = false;
  std::int64_t takeover_not_before_ns_ = 0;
  std::int64_t next_takeover_ms_ = 0;
  std::string takeover_note_;
  std::int64_t takeover_note_logged_ms_ = 0;
};

}  // namespace twinmq::replication
