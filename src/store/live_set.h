// store/live_set.h — the journal's index of what is still live on disk.
//
// The LiveSet follows the journaled events (the same events recovery replays) and
// keeps, per live persistent message, where its bytes are (file, offset of the record,
// member within a transaction record) and where the message currently sits (queue,
// durable subscription backlog, dead-letter queue). It is what makes the journal's
// two later jobs possible without a format change:
//   - compaction (store/compactor.h): the live set, plus the destinations and durable
//     subscriptions that exist, is exactly what a checkpoint must carry forward; per
//     file live counts say how much of the disk is garbage;
//   - paging (a later issue): a message body can leave memory because locate() tells
//     where to read it back (every message is its own record in a checkpoint, or a
//     member of one record in a segment).
//
// Why it tracks locations and not just ids: one topic message lives in several
// durable backlogs and leaves each one separately; a dead-lettered message changes
// queue. A checkpoint must rebuild all of that by replay, in the original order. So a
// checkpoint (plan_checkpoint) is a list of the original events that still matter —
// the Added events of locations that exist, each live message's enqueue, its
// dead-letter moves — plus a MessageRemoved for each durable backlog a topic message
// would reach on replay but has already left. Removed locations that a live message's
// move history names are kept ("pinned") so their Added/Removed events can be
// replayed too.
//
// It also keeps the duplicate-detection windows (broker/duplicates.h) as the journal
// has them: the ids of persistent SENDs, each window as large as the master chose. A
// checkpoint must carry them because they outlive their messages (a consumed message's
// id is still in the window while later SENDs may repeat it): it ends with each window
// as DuplicateIdsRecorded records at its own seq, the first of each with `replace`, so
// the ids that the live messages' records enter during replay end up exactly as here.
//
// Memory: 40 bytes per live message (a 32-byte Entry and its id in an IdTable, a
// chunked array sorted by id: store/id_table.h; it was 72 in a hash map), plus a small
// side table for messages in several backlogs or with a dead-letter history, plus the
// windows' persistent ids (duplicates.h).
//
// Lifecycle: owned by the Journal (and built by recovery; verify-store builds its
// own). Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/ids.h"
#include "broker/duplicates.h"
#include "broker/event.h"
#include "store/id_table.h"

namespace twinmq::store {

class EventEncoder;

// Files are numbered in memory only (their names carry seqs); a FileNo is stable for
// the life of the Journal.
using FileNo = std::uint32_t;

struct MessageLoc {
  FileNo file = 0;
  std::uint32_t member = 0;  // index among the record's (persistent) messages
  std::uint64_t offset = 0;  // of the record's frame in the file
};

// One record of a checkpoint to be: a live message to copy from where it is now
// (file != 0), or a record the loop already framed (file == 0: bytes [a, b) of
// CheckpointPlan::framed). 32 bytes: a plan holds one per live message.
struct PlanItem {
  Seq seq;                 // sort key: seq, then rank
  std::uint64_t a = 0;     // copy: offset of the record holding the message; framed: begin
  std::uint64_t b = 0;     // copy: the message id; framed: end
  FileNo file = 0;         // copy: where the message is; 0 = framed
  std::uint32_t rank = 0;  // member << 2 | order (0 location removed, 1 the event, 2 synthesised after it,
                           // 3 a duplicate-detection window: member kWindowMember + n, last of all)

  bool copy() const { return file != 0; }
  std::uint32_t member() const { return rank >> 2; }
  static std::uint32_t rank_of(std::uint32_t member, std::uint32_t order) { return member << 2 | order; }
  // Windows sort after every real member of the checkpoint's last record (a record
  // cannot hold 2^28 messages: maxTransactionSize bounds it far below).
  static constexpr std::uint32_t kWindowMember = 1u << 28;
};

static_assert(sizeof(PlanItem) == 32);

struct CheckpointPlan {
  Seq upto;                          // the checkpoint stands for every seq up to here
  std::uint64_t next_message_id = 1;
  std::vector<PlanItem> items;       // unsorted; the writer thread sorts them
  std::vector<std::byte> framed;     // records for the non-copy items
};

struct Relocation {
  std::uint64_t message_id = 0;
  std::uint64_t offset = 0;          // of its record in the new checkpoint
};

class LiveSet {
 public:
  LiveSet();

  // Applies one journaled event located at (file, offset); `frame_bytes` is its record's
  // size. Only persistent parts count (as the journal writes only those).
  void apply(Seq seq, const broker::Event& e, FileNo file, std::uint64_t offset,
             std::uint32_t frame_bytes);

  // apply() of the MessageEnqueued or TransactionCommitted an index-only recovery read
  // without building its messages (broker::IndexedEnqueue, store/recovery.h).
  void apply_indexed(Seq seq, const broker::IndexedEnqueue& e, FileNo file, std::uint64_t offset,
                     std::uint32_t frame_bytes);

  std::size_t live_messages() const { return messages_.size(); }
  // Heap bytes of the per-message table (IdTable), for measurements.
  std::size_t message_table_bytes() const { return messages_.memory_bytes(); }
  // What a checkpoint would hold: the live messages' record bytes plus about what the
  // duplicate-detection windows take (so that compaction, which starts when the
  // garbage outgrows this, does not count windows as garbage and start again at once).
  std::uint64_t live_bytes() const { return live_bytes_ + window_bytes(); }
  std::uint64_t window_bytes() const;
  const broker::DuplicateIds& duplicate_ids() const { return windows_; }
  std::uint64_t live_bytes_in(FileNo f) const;
  std::uint64_t live_count_in(FileNo f) const;
  std::optional<MessageLoc> locate(std::uint64_t message_id) const;
  // The seq of the event that enqueued a live message (paging: whether it is durable).
  std::optional<Seq> enqueued_seq(std::uint64_t message_id) const;
  // Live messages per queue / durable subscription key, for verify-store and tests.
  std::map<std::string, std::uint64_t> messages_per_location() const;
  // Events that named a message or location the index did not have (a healthy
  // journal has none; verify-store reports them).
  std::uint64_t dangling_references() const { return dangling_; }
  std::uint64_t max_message_id() const { return max_message_id_; }

  // Everything a checkpoint as of `upto` must hold (see the design comment).
  CheckpointPlan plan_checkpoint(Seq upto, std::uint64_t next_message_id, EventEncoder& enc) const;
  // A checkpoint was written to `file`; the listed messages now live there. Messages
  // still pointing into `obsolete` files afterwards would be a bug: they are counted
  // and reported by the return value.
  std::size_t relocate(FileNo file, std::span<const Relocation> moved, std::span<const FileNo> obsolete);

 private:
  using LocId = std::uint32_t;
  static constexpr LocId kNone = 0xFFFFFFFFu;
  static constexpr LocId kMany = 0xFFFFFFFEu;
  enum class LocKind : std::uint8_t { queue, topic, durable };

  struct Location {
    std::string name;            // destination, or durable subscription key
    std::string client_id, sub_name, topic;  // durable only
    Seq added;                   // its Added event; 0 = came into being by an enqueue
    Seq removed;                 // its Removed event; 0 while it exists
    std::uint64_t live = 0;      // live messages here
    std::uint32_t pins = 0;      // references from live messages (origin, move history)
    LocKind kind = LocKind::queue;
    bool in_use = false;
  };
  // 32 bytes (40 with its id in the IdTable): the bulk of the index of a queued
  // message. Offsets are kept in units of kRecordAlign (every record starts 8-aligned),
  // so 37 bits reach 1 TiB into a file (segments are at most 1 TiB; a checkpoint, which
  // holds every live message, must stay under it too: asserted); a record holds fewer
  // than 2^27 messages (static_assert in live_set.cc).
  struct Entry {
    static constexpr unsigned kMemberBits = 27;
    Seq seq;                     // the event that enqueued it
    std::uint64_t place = 0;     // offset / kRecordAlign << kMemberBits | member
    FileNo file = 0;             // 0: a removed entry (IdTable tombstone); files count from 1
    std::uint32_t bytes = 0;     // its share of the record's bytes
    LocId loc = kNone;           // where it is, or kMany (see many_)
    std::uint32_t origin_moved = 0;  // origin << 1 | moved

    // The destination it was sent to (pinned).
    LocId origin() const { return origin_moved >> 1; }
    // Has a dead-letter history in moves_.
    bool moved() const { return (origin_moved & 1) != 0; }
    void set_origin(LocId l) { origin_moved = l << 1 | (origin_moved & 1); }
    void set_moved() { origin_moved |= 1; }
    std::uint64_t offset() const;
    std::uint32_t member() const { return static_cast<std::uint32_t>(place & ((1u << kMemberBits) - 1)); }
    void set_place(std::uint64_t offset, std::uint32_t member);
    bool vacant() const { return file == 0; }
    void vacate() { file = 0; }
  };
  static_assert(sizeof(Entry) == 32);
  struct Move {
    Seq seq;
    LocId from, to;
  };
  struct FileLive {
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <class V>
  using NameMap = std::unordered_map<std::string, V, NameHash, std::equal_to<>>;

  LocId current(std::string_view name) const;
  LocId make_location(std::string_view name, LocKind kind, Seq added);
  LocId current_or_implicit(std::string_view name, LocKind kind);
  void remove_location(LocId l, Seq seq);
  void pin(LocId l) { ++locs_[l].pins; }
  void unpin(LocId l);
  void free_location(LocId l);

  void enqueue(Seq seq, std::uint64_t id, std::string_view destination, std::uint32_t member, FileNo file,
               std::uint64_t offset, std::uint32_t bytes);
  void remove_from(std::uint64_t id, std::string_view queue);
  void move(Seq seq, std::uint64_t id, std::string_view queue, std::string_view dlq);
  bool holds(std::uint64_t id, const Entry& e, LocId l) const;
  // Takes `l` off the message; returns true if the message has no location left.
  bool drop_location(std::uint64_t id, Entry& e, LocId l);
  void kill(std::uint64_t id, Entry& e);

  void record_id(const broker::Message& m);
  void plan_location(LocId l, CheckpointPlan& plan, EventEncoder& enc) const;
  void plan_windows(CheckpointPlan& plan, EventEncoder& enc) const;
  void add_framed(CheckpointPlan& plan, Seq seq, std::uint32_t member, std::uint32_t order,
                  const broker::Event& e, EventEncoder& enc) const;

  IdTable<Entry> messages_;
  std::unordered_map<std::uint64_t, std::vector<LocId>> many_;
  std::unordered_map<std::uint64_t, std::vector<Move>> moves_;
  std::vector<Location> locs_;
  std::vector<LocId> free_;
  NameMap<LocId> current_;
  NameMap<std::vector<LocId>> topic_durables_;  // durable incarnations per topic (live or pinned)
  std::unordered_map<FileNo, FileLive> files_;
  std::uint64_t live_bytes_ = 0;
  broker::DuplicateIds windows_;  // persistent ids only
  std::uint64_t dangling_ = 0;
  std::uint64_t max_message_id_ = 0;
};

}  // namespace twinmq::store
