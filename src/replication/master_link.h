// replication/master_link.h — the master's end of the replication link: accepts one
// slave on the replication connector, copies its state over, streams every event to it,
// and holds client replies until the slave has acknowledged what they confirm.
//
// DESIGN (the SYNCHRONOUS REPLICATION of ARCHITECTURE.md "The promise")
//  - The MasterLink is a broker::EventSink: EventLog::append hands it every event right
//    after the journal. It encodes the event (schemas/event.fbs, the journal's encoding)
//    into the loop turn's Events batch; the prepare hook, which also hands the journal
//    its batch, queues the batch on the slave's connection, so the slave's copy and the
//    master's own fsync proceed in parallel.
//  - It is a ReplyGate source whose position is the slave's cumulative Applied. A
//    RECEIPT therefore goes out once the journal AND the slave are past its Seq; the
//    loop never waits (replies are held per Seq, released on each Applied).
//  - Initial sync (replication/initial_sync.h): an accepted slave first gets a copy of
//    the current state (a consistent cut at S0) while clients keep being served — read
//    from the journal's files by a reader thread, plus the little the journal cannot
//    supply from memory (replication/journal_copy.h; a master without a journal sends
//    a snapshot of its memory) — and events after S0 are held back until it is queued.
//    From acceptance until then a Journal::FilePin keeps compaction from deleting a
//    file the copy, or the events after S0 read back from the journal, still need. A slave whose store
//    is this master's history up to where it stopped gets the events it missed out of
//    the journal instead (replication/catch_up.h; handshake.h says when), then the
//    same held-back events.
//  - "In sync" (for waitForSlave, receipts, and the slave's right to take over) is
//    reached at the first Applied that covers every reply released without the slave:
//    at the slave's first Applied >= S0 the gate source is added at that position (so
//    no new reply passes the slave), and the slave is in sync once its Applied reaches
//    what had been released before. The slave is told (InSync) and only then may it
//    promote itself.
//  - Back-pressure: a slave that keeps acknowledging but more slowly than the load (a
//    slow disk, a thin network) is never dropped for it. Receipts wait for it anyway;
//    what would pile up is the work of clients that do not wait (no receipts,
//    non-persistent). So when more than the link's high watermark (4 MiB) waits to be
//    written to the slave — or, during a copy, more than copy_memory of events that the
//    journal cannot give back — the master stops reading from every client
//    (on_backlog(true)) until the link drains below its low watermark (1 MiB). Memory
//    stays bounded by those marks, whatever the load.
//  - Nothing the slave fails to do is swallowed: a slave that breaks the protocol, falls
//    too far behind, or acknowledges nothing for the link timeout while events are
//    outstanding is dropped (told so with Reject{slave_dropped}, so it does not take
//    over), and the policy for a lost slave applies:
//      shutdownOnSlaveFailure="true"  the master stops (exit code 4); receipts stay held;
//      minimumReplicas="0" (default)  the gate source goes: held receipts are released,
//                                     the master serves alone, logs it loudly;
//      minimumReplicas="1"            receipts for persistent work stay held until a
//                                     slave is back in sync (a gate source that gates
//                                     persistent work only; other replies pass).
//
// STATES (of the link to the one accepted slave; connections still in their handshake
// are candidates and do not change it):
//   awaiting_slave     no slave, or the last one was lost
//   sending_snapshot   accepted; the snapshot is going out, live events held back
//   awaiting_catch_up  snapshot queued; waiting for Applied to cover what was released
//                      without the slave
//   streaming          in sync: every reply waits for the slave
//   stopped            terminal: the master shuts down (the slave was told, Shutdown)
// Order matters: code compares states only for equality.
// Timeouts (handshake, heart-beat silence, Applied stall) live in one periodic check.
//
// Lifecycle: owned by app::Runtime (after the broker and journal, before connectors);
// open() → ... → shutdown() (planned stop) or close(). Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "auth/security.h"
#include "base/ids.h"
#include "base/result.h"
#include "broker/broker.h"
#include "broker/event_log.h"
#include "net/loop.h"
#include "net/tcp_listener.h"
#include "tls/context.h"
#include "net/timer.h"
#include "replication/handshake.h"
#include "replication/catch_up.h"
#include "replication/initial_sync.h"
#include "replication/journal_copy.h"
#include "replication/protocol.h"
#include "replication/slave_ack_watch.h"
#include "replication/status.h"
#include "replication/witness_port.h"
#include "store/event_codec.h"
#include "store/journal.h"

namespace twinmq::replication {

struct MasterOptions {
  std::string broker_name;
  std::string host = "0.0.0.0";  // the replication connector
  std::uint16_t port = 62001;
  // Users and replicationGroup (auth/security.h); nullptr or no users = any slave (a
  // warning is logged). Shared with the STOMP connectors (one failed-login count). Not owned.
  auth::Security* security = nullptr;
  bool shutdown_on_slave_failure = false;
  int minimum_replicas = 0;
  std::uint32_t heart_beat_ms = 500;
  std::uint32_t link_timeout_ms = 3000;
  // A slave whose unsent output exceeds this has fallen too far behind: dropped.
  std::size_t max_backlog = 256u << 20;
  // The pair's witness (replication/witness_port.h); nullptr = none. Not owned.
  WitnessPort* witness = nullptr;
  // <journal syncOnWrite>: a slave must fsync exactly when the master does.
  bool sync_on_write = true;
  // Events held back in memory during a copy beyond this are read back from the journal
  // after it instead (when the journal holds them whole), so a copy under load does not
  // grow the master's memory. (Tests lower it through TWINMQ_COPY_MEMORY_BYTES.)
  std::size_t copy_memory = 16u << 20;
  // ssl:// replication listener: every slave connection speaks TLS with this server
  // context, which requires a client certificate signed by trustedCAs (mutual TLS;
  // net/tcp_connection.h "TLS"). Null = plain TCP.
  std::shared_ptr<tls::Context> tls;
  // replicationRetainBytes, as the journal applies it (named in the log when a slave
  // returns too late to catch up).
  std::uint64_t retain_bytes = 0;
  std::uint32_t retain_ms = 0;  // replicationRetainPeriod (named with retain_bytes)
};

class MasterLink final : public broker::EventSink {
 public:
  struct Callbacks {
    std::function<void()> on_in_sync;                       // a slave became in sync
    std::function<void(const std::string& reason)> on_fatal;  // shutdownOnSlaveFailure
    // The slave fell behind (true): stop reading from clients until it has caught up
    // (false). See "Back-pressure" above.
    std::function<void(bool hold)> on_backlog;
    std::function<void()> on_state_change;  // after every link state change (systemd STATUS=)
  };

  MasterLink(net::Loop& loop, broker::Broker& broker, store::Journal* journal, MasterOptions options,
             Callbacks callbacks);
  ~MasterLink();
  MasterLink(const MasterLink&) = delete;
  MasterLink& operator=(const MasterLink&) = delete;

  // Listens on the replication connector and prints "twinmq: listening replication
  // <ip:port>"; registers as event sink (and, with minimumReplicas="1", gate source).
  Result<void> open();
  // Planned stop (SIGTERM): sends what is batched and a Shutdown frame, closes the link
  // after it has been flushed. The slave takes over at once.
  void shutdown(std::string_view reason);
  // Immediate close of everything (destruction).
  void close();

  void on_event(Seq seq, const broker::Event& event) override;
  // Consumed before written (broker::Cancellation): the enqueue can be taken back while
  // it is the last record of the batch not yet queued for the slave (or when no slave
  // gets events); the slave then gets one `cancelled` record instead of the pair (or
  // the replacement and the record), keeps its numbering and acknowledges it without a
  // write of its own.
  bool can_cancel(Seq enqueued) const override;
  void cancel(const broker::Cancellation& c) override;

  bool in_sync() const { return state_ == State::streaming; }
  // What the attached slave said about itself in its Hello (nullopt: no slave). For a
  // planned switchover: does it take over when told Shutdown, and where does its own
  // replication listener wait for this broker to rejoin it.
  struct SlaveFacts {
    std::string description;          // "'b' at 127.0.0.1:40522"
    std::optional<bool> takes_over;   // nullopt: an older slave did not say
    std::string replication_listener; // "tcp://host:port" with a wildcard host resolved; "" = none
  };
  std::optional<SlaveFacts> slave_facts() const;
  // The witness gave this broker the right to serve again (after losing it): name the
  // in-sync slave as the replica again, or finish an in-sync step that waited for it.
  void witness_regained();
  LinkStatus status() const;
  std::uint16_t port() const { return listener_ ? listener_->port() : 0; }

  class Peer;  // one accepted TCP connection (master_link.cc)

  // --- for Peer --------------------------------------------------------------
  bool on_frame(Peer& peer, const fbr::Frame& frame);
  void on_drained(Peer& peer);
  void on_peer_closed(Peer& peer, int status);
  void drop(Peer& peer, fbr::RejectReason reason, const std::string& why);

 private:
  enum class State { awaiting_slave, sending_snapshot, awaiting_catch_up, streaming, stopped };
  static std::string_view state_name(State s);
  void enter(State next, std::string_view reason);

  void accept(net::TcpListener& listener);
  void on_hello(Peer& peer, const HelloInfo& hello);
  // The slave's answer to our Challenge (auth/challenge.h).
  void on_proof(Peer& peer, const fbr::Proof& proof);
  // After the password check (inline for plain text, a worker for a hash, or the Proof).
  void credentials_checked(Peer& peer, const HelloInfo& hello, bool valid);
  void decide_hello(Peer& peer, const HelloInfo& hello, Credentials credentials);
  RecordMatch record_at(Seq seq, std::uint32_t crc) const;
  // CatchUpView::record_after: the first journal record in (after, upto], Seq{0} if none.
  std::optional<Seq> record_after(Seq after, Seq upto) const;
  void on_applied(Seq seq);
  void become_in_sync();
  void finish_in_sync();
  void lose_slave(const std::string& reason);
  void serve_alone(const std::string& who, const std::string& reason);
  // With a witness: clears the replica there, then serves alone. If this broker lost
  // the key meanwhile, witness_regained() asks again once it holds it.
  void clear_replica_then_serve_alone(const std::string& who, const std::string& reason);
  void on_echo(std::uint64_t echo);

  void flush();  // the prepare hook
  void finish_batch();
  bool streams_events() const;  // on_event adds to batch_
  void pump_snapshot();
  void periodic();
  void send_control(Peer& peer);  // commit_output + bookkeeping after writing a frame
  void hold_receipts(Seq position);
  void release_hold();
  bool backlogged() const;
  void update_backlog();  // tells on_backlog when backlogged() changes

  net::Loop& loop_;
  broker::Broker& broker_;
  store::Journal* journal_;
  const MasterOptions options_;
  const Callbacks callbacks_;

  State state_ = State::awaiting_slave;
  net::HandlePtr<net::TcpListener> listener_;
  net::HandlePtr<net::Timer> timer_;
  std::shared_ptr<MasterLink*> hook_target_;  // the prepare hook outlives us in the Loop
  bool sink_ = false;
  std::unordered_set<Peer*> peers_;
  Peer* slave_ = nullptr;
  SlaveFacts slave_facts_;  // of slave_, from its Hello

  store::EventEncoder encoder_;
  EventBatch batch_;
  FrameWriter writer_;
  std::unique_ptr<StateSender> sender_;  // a copy (journal_copy.h; snapshot without a journal) or a catch-up
  store::Journal::FilePin copy_pin_;     // from acceptance until the state is queued
  std::string deferred_;  // events after S0, queued while the snapshot goes out
  Seq copy_upto_;          // the state being sent stands for the master up to here
  bool from_journal_ = false;  // events after copy_upto_ come back out of the journal
  bool copy_queued_ = false;   // the copy (or catch-up) itself is queued; events may follow

  // Gate sources: `follow_` is the slave's Applied (gates all work); `hold_` is the
  // minimumReplicas="1" hold without a slave in sync (gates persistent work only).
  std::optional<broker::ReplyGate::SourceId> follow_;
  std::optional<broker::ReplyGate::SourceId> hold_;
  // The journal's writer asks it whether this loop may sleep through a durability
  // report (replication/slave_ack_watch.h); told of follow_ and every Applied.
  SlaveAckWatch ack_watch_;
  bool watching_ = false;  // ack_watch_ is the journal's DurableListener
  bool fatal_ = false;

  // With a witness: bumped whenever the slave changes, so an answer from the witness
  // about an earlier slave is ignored; naming_ while the witness records the replica.
  std::uint64_t slave_generation_ = 0;
  bool naming_ = false;
  // A slave was lost and the replica is not cleared yet (receipts held): who and why.
  struct LostSlave {
    std::string who;
    std::string reason;
  };
  std::optional<LostSlave> clearing_replica_;
  std::int64_t last_probe_ms_ = 0;

  Seq sent_;                    // last seq queued for the slave
  Seq applied_;                 // slave's cumulative Applied
  Seq catch_up_target_;
  std::int64_t waiting_since_ms_ = 0;  // when Applied last moved, or events became outstanding
  std::int64_t attached_ms_ = 0;
  std::int64_t last_check_ms_ = 0;
  bool backlog_hold_ = false;   // clients are not read: the slave is behind (update_backlog)
  std::int64_t backlog_since_ms_ = 0;
  std::int64_t backlog_logged_ms_ = 0;
  std::uint64_t backlog_episodes_ = 0;
  std::int64_t backlog_total_ms_ = 0;
  std::string pending_drop_;    // a drop decided inside on_event, done in the prepare hook
  std::string last_loss_;
  std::uint64_t slave_losses_ = 0;  // slaves lost since start (status, /metrics)
  // When the slave last confirmed its position (an Applied, or a heart-beat restating
  // it with nothing outstanding): mono ms, 0 = never.
  std::int64_t last_applied_ms_ = 0;
  // Streamed batches the slave has not acknowledged, (last seq, bytes) in order, and
  // their total: the lag in bytes. One entry per loop turn with events, not per event.
  std::deque<std::pair<Seq, std::uint64_t>> unacked_batches_;
  std::uint64_t unacked_bytes_ = 0;
};

}  // namespace twinmq::replication
