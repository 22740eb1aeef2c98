// store/journal.h — the durable journal: persistent broker state survives kill -9
// and power loss, with group commit and fast recovery.
//
// DESIGN
//  - The Journal is a broker::EventSink. on_event() (loop thread, inside
//    EventLog::append) encodes each persistent event (schemas/event.fbs), frames it
//    (store/record_format.h) into the current batch at a file offset it chooses
//    itself, and updates its index (store/live_set.h). Non-persistent events are not
//    written; they only move the durable position once everything before them is durable.
//  - Once per loop turn the prepare hook, after the turn's socket writes (so the slave
//    gets the events before the writer is woken: broker::SinkOrder), hands the batch
//    to the writer thread (store/sync_thread.h), which writes and fdatasyncs it, grouping whatever batches
//    arrived meanwhile under one fdatasync (group commit; zeroed space kept ahead of the
//    writes makes that fdatasync a pure data flush), and reports back through an
//    AsyncQueue. The loop then raises its ReplyGate source ("durable up to Seq N") and
//    calls Broker::notify_released(), which lets held RECEIPTs go. The loop never
//    waits on the disk.
//  - A DurableListener (set_durable_listener) hears of each durable group on the
//    writer thread, before the loop does: a slave acknowledges from there without
//    waiting for its loop to wake up (replication/direct_ack.h), and a master whose
//    slave has not acknowledged the group yet lets its loop sleep on until that
//    answer wakes it (replication/master_link.h). Such a report is pushed without
//    waking the loop; the prepare hook takes whatever was pushed at every loop turn,
//    so it is seen at the loop's next wake-up for any reason, before anything is
//    released. Never quiet while a written-below waiter needs the report.
//  - A failing write (disk full, I/O error) is retried by the writer until it
//    succeeds; meanwhile the broker refuses persistent sends with the reason
//    (Broker::set_persistence_refusal) and nothing after the failed batch counts as
//    durable. The refusal is lifted when a write succeeds again.
//  - Start-up recovery (store/recovery.h) replays checkpoint and segments through
//    Broker::apply(), truncates a torn tail and refuses real damage. With a memoryUsage
//    limit (the default) it is index-only (JournalOptions::recovery_bodies): messages
//    come back paged, through Broker::apply_indexed(), without their bodies, and
//    attach() has the page reader fetch each queue's head. Compaction
//    (store/compactor.h) keeps the directory bounded.
//
// Use by the runtime, in this order (all on the loop thread):
//    auto j = Journal::open(loop, config.journal);          // lock dir, load/create identity
//    BrokerOptions o; o.id_prefix = j->identity().id.to_string() ...; Broker broker(o);
//    auto report = j->start(broker);   // replay into the broker; become its sink and gate source
//    ... loop.run() ...
//    j->close();                       // before the broker and the loop go
//
// For replication (issue 4):
//  - Slave: apply each streamed event with broker.apply(e), then journal.on_replicated_event(seq, e, bytes)
//    (apply() does not pass through the event log), then event_log().reset_last(seq);
//    the slave's `Applied` may report last_durable_seq().
//  - Catch-up: read_from(seq) gives the durable records from `seq` on (raw framed
//    payloads, sendable as they are). Errc::compacted means `seq` is older than
//    first_seq(): the slave needs a full sync. Records whose `skipped` is nonzero hide
//    non-persistent events the journal never had.
//  - Promotion: bump_epoch() (the next segment carries the new epoch).
//  - Full copy (replication/journal_copy.h): pin_files() holds compaction off while a
//    slave is copied from the files; read_all(upto) reads the checkpoint and every
//    segment up to `upto` — the journal's whole state as of `upto`.
//
// RETAINED SEGMENTS (replicationRetainBytes). A compaction replaces every file with a
// checkpoint at C, which ends any catch-up from before C. With retain_bytes it keeps the
// newest of those segments (whole, newest first, while they fit in retain_bytes): they
// are not replayed (the checkpoint has their state) but read_from() still reads them,
// so first_seq() is the first retained seq. They count neither as live data nor as
// garbage for the compaction trigger, and the next compaction replaces them. Recovery
// keeps them by the same rule (store/retention.h), so they survive a restart; once one
// was last written retain_ms ago the periodic check (release_expired_segments) releases
// it and says so in the log.
//
// THE TRICKY PART: which Seq may be reported durable. Each batch carries the last Seq
// seen when it was handed over (trailing non-persistent events included); a batch
// with no records just extends the coverage of the batch in flight before it, or, if
// nothing is in flight, is durable at once. Durability is reported strictly in batch
// order, so a receipt is never released ahead of an earlier persistent change.
//
// Lifecycle: owned by app::Runtime; open() → start() → close() (also run by the
// destructor). Loop thread only, except read_from()'s cursor (store/record_cursor.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "broker/broker.h"
#include "broker/event_log.h"
#include "config/config.h"
#include "net/async_queue.h"
#include "net/loop.h"
#include "store/dir_lock.h"
#include "store/event_codec.h"
#include "store/identity.h"
#include "store/live_set.h"
#include "store/page_reader.h"
#include "broker/page_store.h"
#include "store/record_cursor.h"
#include "store/recovery.h"
#include "base/latency_histogram.h"
#include "store/segment_set.h"
#include "store/sync_thread.h"

namespace twinmq::store {

struct JournalOptions {
  // How often a failed write is retried (disk full, I/O error).
  std::chrono::milliseconds retry_interval{1000};
  // Compaction on (tests of the raw segment layout turn it off).
  bool compaction = true;
  // Garbage allowed on disk before compacting even an empty store; 0 = 4 segments.
  std::uint64_t compaction_min_bytes = 0;
  // replicationRetainBytes: a compaction keeps the newest segments it replaces, up to
  // this many bytes, so a slave that was away can still catch up from them (read_from)
  // instead of needing a full copy. 0 = keep none. See "RETAINED SEGMENTS" above.
  std::uint64_t retain_bytes = 0;
  // replicationRetainPeriod: a kept segment is released once it was last written this
  // long ago (store/retention.h). 0 = no time bound.
  std::uint32_t retain_ms = 0;
  // What start-up recovery builds of each stored message (store/recovery.h Bodies).
  // automatic: index only — every queued persistent message recovered paged, its body
  // left on disk, and each queue's head read back at attach() — when the broker has a
  // memoryUsage limit (it pages); without one (memoryUsage 0: nothing is ever paged)
  // every message is built, as before. decode / index_only force one way (tests
  // compare the two).
  enum class RecoveryBodies { automatic, decode, index_only };
  RecoveryBodies recovery_bodies = RecoveryBodies::automatic;
};

struct JournalStats {
  std::uint64_t records = 0;         // records framed since open
  std::uint64_t message_records = 0; // of which messages added (message_enqueued): a SEND, on either side
  std::uint64_t cancelled = 0;       // SENDs consumed before written: neither they nor their removal were
                                     // written (master: cancel(); slave: on_cancelled())
  std::uint64_t batches = 0;         // batches handed to the writer
  std::uint64_t write_groups = 0;    // writer rounds (each one fdatasync with syncOnWrite)
  std::uint64_t syncs = 0;           // fdatasync calls (groups, plus one per segment roll)
  std::uint64_t bytes_written = 0;
  std::uint64_t write_failures = 0;  // failed writer rounds
  std::uint64_t compactions = 0;
  std::uint64_t files = 0;           // segment and checkpoint files
  std::uint64_t disk_bytes = 0;      // their total size
  std::uint64_t live_messages = 0;
  std::uint64_t live_bytes = 0;
  std::uint64_t index_bytes = 0;     // heap of the per-message index (LiveSet's IdTable)
};

// Told on the journal's writer thread as soon as a group of batches is durable
// (written, and fdatasynced with syncOnWrite), before the loop hears of it through its
// report. Never told of a group whose write or sync failed.
class DurableListener {
 public:
  // Every event up to `cover` that the journal was given is durable (or was
  // non-persistent): the position the loop will report for the group
  // (last_durable_seq()), or less, never more. Must not block; must not throw.
  virtual void durable(Seq cover) noexcept = 0;
  // Asked after the group's report is queued: true lets the loop sleep on instead of
  // being woken for it, because the listener acted on it already or something else is
  // sure to wake the loop (which then takes the report first, in its prepare hook).
  // `from`: the cover of the group before (what this report adds is (from, cover]).
  virtual bool loop_may_wait(Seq from, Seq cover) noexcept = 0;

 protected:
  ~DurableListener() = default;
};

class Journal final : public broker::EventSink, public broker::PageStore, private ReplayTarget {
 public:
  // Creates the directory if needed, takes its lock (Errc::in_use names the holder's
  // pid), loads the store identity or creates one. Nothing is replayed yet.
  static Result<std::unique_ptr<Journal>> open(net::Loop& loop, const config::JournalConfig& config,
                                               const JournalOptions& options = {});
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Replays the store into `broker` (apply, next message id, event log position), then
  // registers as its event sink and reply-gate source and starts the writer thread.
  // On error the broker may hold part of the state: the caller exits.
  Result<RecoveryReport> start(broker::Broker& broker);
  // start() in two steps, for a slave installing a full copy without blocking its loop
  // (replication/slave_link.h): recover() replays into `broker` and touches no loop
  // handle, so it may run on a worker thread while nothing else uses this journal or
  // that broker; attach() (loop thread) then makes the journal the broker's sink and
  // gate source and starts the writer.
  Result<RecoveryReport> recover(broker::Broker& broker);
  void attach();

  // broker::EventSink (loop thread).
  void on_event(Seq seq, const broker::Event& event) override;
  // The slave's on_event: `encoded` is the event as the master encoded it for the link
  // (EventEncoder::encode, the same bytes the journal would write), so it is journaled
  // as received instead of being encoded again (a third of the slave's CPU). A
  // TransactionCommitted is encoded again: its journal form drops non-persistent parts.
  void on_replicated_event(Seq seq, const broker::Event& event, std::span<const std::byte> encoded);
  // CONSUMED BEFORE WRITTEN (README "Consumed before written"). The master's journal can
  // take back the enqueue's record while it is the last one laid out in the batch that
  // is not yet handed to the writer; cancel() then drops it (and writes the removal not
  // at all): the seqs become part of the next record's `skipped` count, as
  // non-persistent events do. They are not counted as unjournaled: they carry no state
  // that a catch-up would miss (replication/catch_up.h sends them as a cancelled gap).
  // After a restart recovery cannot tell them from non-persistent seqs and counts them
  // as unjournaled (a slave then gets a full copy instead of a catch-up).
  bool can_cancel(Seq enqueued) const override;
  void cancel(const broker::Cancellation& c) override;
  // The slave's side: the master cancelled a pair; seqs up to `upto` carry no record.
  // last_durable_seq() covers them once what came before is durable, so a slave whose
  // last events were cancelled is past its last record when it re-attaches (a catch-up
  // from there: replication/handshake.h "CANCELLED TAIL").
  void on_cancelled(Seq upto);
  // The bytes on_event() just journaled for `seq`, when they are also the link's
  // encoding of the event (any event but a TransactionCommitted): the master's link,
  // a later sink of the same event, sends them instead of encoding the event again.
  // Empty if `seq` was not the last event journaled. Valid until the next event.
  std::optional<std::span<const std::byte>> encoded(Seq seq) const {
    if (seq != encoded_seq_) return std::nullopt;
    return encoded_;
  }

  // Loop thread. nullptr ends the calls: once it returns, no call is running and none
  // comes. close() clears it too. The listener must outlive its registration.
  void set_durable_listener(DurableListener* listener);
  // Clears the listener if it is still `listener` (a slave's link stopping must not
  // clear what the master link of the same broker registered after a promotion).
  void remove_durable_listener(DurableListener* listener);
  // Loop thread: takes the reports the writer queued without waking the loop, now
  // (they release what they cover). The prepare hook does it every turn, after handing
  // over the turn's batch; a master takes them as soon as the slave's Applied arrives,
  // so the receipts both released go out with that turn's first writes.
  void take_reports() { reports_->drain(); }

  // Hands over the last batch, waits for the writer to finish it, releases what became
  // durable, and stops. Idempotent. If the last writes failed, their receipts stay held.
  void close();

  const StoreIdentity& identity() const { return identity_; }
  std::uint64_t epoch() const { return identity_.epoch; }
  // The oldest seq the segments hold (seqs before it live on only in the checkpoint).
  Seq first_seq() const { return first_seq_; }
  // The last seq the journal was given.
  Seq last_seq() const { return last_seen_; }
  // Everything up to here is durable (or was non-persistent).
  Seq last_durable_seq() const { return durable_; }
  // The newest seq whose event the journal does not hold whole (non-persistent, or a
  // transaction with non-persistent parts); at start-up, the recovered position. After
  // it, the segments hold every event: a slave can catch up from them. At start-up it is
  // read off the segments (store/retention.h unjournaled_in).
  Seq last_unjournaled_seq() const { return last_unjournaled_; }
  // The position recovery reached when this journal started: non-persistent messages
  // live before it were lost by the restart.
  Seq recovered_seq() const { return recovered_; }
  // Bytes given to the journal and not yet durable: what a disk slower than the load
  // keeps in memory. A slave stops reading its link above a bound (SlaveLink
  // "Back-pressure").
  std::uint64_t unwritten_bytes() const { return inflight_bytes_ + batch_.bytes.size(); }
  // Calls `fn` once, on the loop thread, when unwritten_bytes() is at or below `low`
  // after a batch became durable. One waiter; a new call (or nullptr) replaces it.
  void notify_when_written_below(std::uint64_t low, std::function<void()> fn) {
    written_low_ = low;
    written_waiter_ = std::move(fn);
    // The waiter depends on reports: none may then wait for a wake-up of the loop.
    report_quietly_.store(written_waiter_ == nullptr);
  }
  // Writes are failing; persistent sends are refused with refusal().
  bool refusing() const { return refusing_; }
  const std::string& refusal() const { return refusal_; }
  const std::string& directory() const { return dir_; }
  JournalStats stats() const;
  // How long each group's fdatasync took (syncOnWrite="true"), for /metrics.
  const LatencyHistogram& fsync_latency() const { return fsync_latency_; }

  // Where a live message's bytes are.
  std::optional<MessageLoc> locate(std::uint64_t message_id) const { return live_.locate(message_id); }

  // broker::PageStore (broker/page_store.h; loop thread). start() makes the journal its
  // broker's page store; page-in reads run on a PageReader thread (store/page_reader.h).
  bool can_page_out(std::uint64_t id) const override;
  void page_in(std::string_view queue, std::span<const std::uint64_t> ids) override;
  const SegmentSet& files() const { return files_; }

  // Durable records with seq >= `from` (see store/record_cursor.h).
  Result<RecordCursor> read_from(Seq from) const;
  // Every durable record up to `upto` — the checkpoint's, then the segments' — which
  // replayed in order rebuild the journal's state as of `upto` (a full copy reads
  // this). Needs last_durable_seq() >= upto and no compaction running (compacting()):
  // a running one may already have deleted files the table still lists.
  Result<RecordCursor> read_all(Seq upto) const;
  // A compaction is running (its checkpoint is being written).
  bool compacting() const { return compacting_; }

  // Holds compaction off while it lives: no new compaction starts, so no file is
  // deleted under a reader that needs files from the checkpoint on (a full copy, and
  // the catch-up from the copy's seq that follows it). One that is already running
  // finishes (see read_all). Made by pin_files(); the Journal must outlive it.
  class FilePin {
   public:
    FilePin() = default;
    explicit FilePin(Journal* j) : journal_(j) { ++journal_->pins_; }
    FilePin(FilePin&& o) noexcept : journal_(std::exchange(o.journal_, nullptr)) {}
    FilePin& operator=(FilePin&& o) noexcept {
      if (this != &o) {
        release();
        journal_ = std::exchange(o.journal_, nullptr);
      }
      return *this;
    }
    ~FilePin() { release(); }
    void release();

   private:
    Journal* journal_ = nullptr;
  };
  FilePin pin_files() { return FilePin(this); }
  std::uint32_t pins() const { return pins_; }
  // Starts a new epoch (promotion): rewrites the identity file (a small synchronous
  // write, once per role change) and rolls to a new segment carrying the new epoch.
  Result<std::uint64_t> bump_epoch();

 private:
  Journal(net::Loop& loop, std::string dir, const config::JournalConfig& config, const JournalOptions& options);

  struct Placed {
    FileNo file;
    std::uint64_t offset;
    std::uint32_t size;
  };
  struct InFlight {
    std::uint64_t id;
    Seq cover;        // durable up to here once this batch is
    Seq last_record;  // last seq with a record in it (or before it)
    FileNo file;      // where the batch ends
    std::uint64_t end;
    std::uint64_t bytes;  // the batch's size (unwritten_bytes)
  };

  // The last record append() laid out, while it is still in batch_: what cancel() puts
  // back to take it out again.
  struct LastRecord {
    Seq seq;
    RecordType type;
    FileNo file;
    std::uint64_t file_offset;  // of the record: the file's size before it
    Seq file_last;              // the file's `last` before it
    Seq covered;                // covered_ before it
    std::size_t batch_begin;    // of the record in batch_.bytes
    std::size_t spans;          // batch_.spans.size() before a span was opened for it
    bool opened_segment;        // it is the first record of a segment opened for it
  };

  void replay(Seq seq, const broker::Event& e, FileNo file, std::uint64_t offset,
              std::uint32_t frame_bytes) override;
  void replay_indexed(Seq seq, const broker::IndexedEnqueue& e, FileNo file, std::uint64_t offset,
                      std::uint32_t frame_bytes) override;
  // recovery_bodies for this store and this broker (see JournalOptions).
  Bodies recovery_bodies(const broker::Broker& broker) const;
  Placed append(Seq seq, RecordType type, std::span<const std::byte> payload);
  JournalFile& open_segment(Seq first);
  void flush();  // the prepare hook
  void submit_batch();
  void on_reports(std::vector<WriterReport>& reports);
  void report(WriterReport r);  // the writer thread's report: listener, queue, wake-up
  void on_durable(std::uint64_t batch_id);
  void on_write_failed(const std::string& error);
  void advance_gate(Seq s);
  void maybe_compact();
  void on_compacted(CompactionResult& r);
  // Bytes of segments a compaction kept for catch-up (covered by the checkpoint).
  std::uint64_t retained_bytes() const;
  // Releases kept segments past retain_ms (store/retention.h); from flush(), at most
  // once a second, never while a reader holds a pin.
  void release_expired_segments();
  // first_seq_ after the file table changed: the first segment's seq, else C + 1.
  void update_first_seq();

  net::Loop& loop_;
  const std::string dir_;
  const config::JournalConfig config_;
  const JournalOptions options_;
  DirLock lock_;
  StoreIdentity identity_;
  broker::Broker* broker_ = nullptr;
  broker::ReplyGate::SourceId gate_source_ = 0;
  SegmentSet files_;
  LiveSet live_;
  EventEncoder encoder_;
  std::unique_ptr<SyncThread> writer_;
  std::unique_ptr<PageReader> page_reader_;  // made at the first page_in()
  bool recovering_ = false;                  // in start()'s replay: every record is on disk
  Bodies recovered_bodies_ = Bodies::decode; // how recover() rebuilt the messages
  std::uint64_t replayed_ = 0;
  static constexpr std::uint64_t kReplayPageOutStride = 1024;
  net::HandlePtr<net::AsyncQueue<WriterReport>> reports_;
  std::mutex listener_mu_;                 // the writer thread reads listener_ under it
  DurableListener* listener_ = nullptr;    // guarded by listener_mu_
  std::atomic<bool> report_quietly_{true}; // the listener may spare the loop a wake-up
  Seq reported_cover_;                     // writer thread: the last durable report's cover
  // The prepare hook outlives the Journal inside the Loop; it reaches us through this.
  std::shared_ptr<Journal*> hook_target_;

  WriteBatch batch_;
  std::optional<LastRecord> last_record_;  // see LastRecord
  std::uint64_t cancelled_ = 0;            // JournalStats::cancelled
  std::vector<std::vector<std::byte>> spare_buffers_;
  LatencyHistogram fsync_latency_;
  std::deque<InFlight> inflight_;
  std::uint64_t next_batch_id_ = 0;
  Seq covered_;         // last seq with a record laid out
  Seq last_seen_;       // last seq given to on_event
  Seq assigned_;        // last seq tied to a batch (or released)
  Seq durable_;         // reported to the gate
  Seq durable_record_;  // last seq with a durable record
  Seq last_unjournaled_;  // see last_unjournaled_seq()
  Seq recovered_;         // see recovered_seq()
  std::int64_t retain_checked_ms_ = 0;  // release_expired_segments()
  Seq first_seq_{1};
  Seq encoded_seq_;                     // see encoded()
  std::span<const std::byte> encoded_;  // a view into encoder_
  std::uint64_t next_message_id_ = 1;
  bool roll_requested_ = false;
  bool compacting_ = false;
  std::uint32_t pins_ = 0;  // live FilePins: no new compaction while nonzero
  Seq compacting_upto_;  // the running compaction's checkpoint seq
  std::uint64_t compaction_floor_ = 0;
  std::uint64_t compaction_hold_until_ = 0;
  std::uint64_t inflight_bytes_ = 0;  // sum of inflight_'s bytes
  std::uint64_t written_low_ = 0;
  std::function<void()> written_waiter_;  // after a failed compaction: total bytes to wait for
  bool refusing_ = false;
  std::string refusal_;
  std::int64_t last_failure_log_ms_ = 0;
  std::uint64_t records_ = 0, batches_ = 0, compactions_ = 0;
  std::uint64_t message_records_ = 0;  // message_enqueued records: what group commit is judged by
  bool started_ = false, closed_ = false;
};

}  // namespace twinmq::store
