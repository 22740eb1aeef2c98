// store/recovery.h — start-up replay of the journal, and the same walk in read-only
// form for `twinmq verify-store`.
//
// What recovery does, in order:
//  1. Lists the directory. A `*.ckpt.tmp` is a checkpoint whose writing was cut
//     short: removed. Of several checkpoints only the newest (highest seq C) counts;
//     older ones, and segments whose records are all <= C, are left-overs of a
//     compaction cut short after its rename: removed — except the newest of those
//     segments that a retain policy keeps for a slave (store/retention.h).
//  2. Replays the checkpoint (it must be whole: it was synced before it got its name),
//     then every segment from C + 1 on, in order, handing each event to the
//     ReplayTarget (the Journal: broker.apply() and its index).
//  3. Checks as it goes: file headers (magic, version, store identity, epoch), each
//     record's CRC and type, and sequence continuity (each record covers the seq after
//     the previous one; each segment starts where the previous one ended).
//  4. Damage in the newest segment with nothing valid after it is a torn tail (a crash
//     during a write; never acknowledged, since the sync had not returned): the file
//     is truncated there and the bytes and reason are logged. Damage anywhere else, or
//     followed by a valid record, means acknowledged data may be behind it: recovery
//     refuses, naming the file, the offset and what was expected, and changes nothing.
//     Zeros from there to the end of the newest segment are the space the writer keeps
//     zeroed ahead of its writes (store/sync_thread.h): cut off, with a note, not a torn
//     tail. In any other segment they are damage like any other.
//
// Speed: files are mmapped and read front to back (no system call per record); each
// record costs one CRC (hardware) and one flatbuffer verification (never skipped:
// bytes from disk are not trusted). With Bodies::decode each message costs one
// allocation and a copy of its headers and body; with Bodies::index_only none.
//
// INDEX-ONLY (Bodies::index_only; the Journal asks for it when the broker has a
// memoryUsage limit, i.e. pages: JournalOptions::recovery_bodies in journal.h): a
// MessageEnqueued or TransactionCommitted record is verified, then only its messages'
// id, destination, priority, expiry and duplicate-detection id are read
// (store/index_decoder.h) and handed to replay_indexed(), which makes paged queue
// entries of them (broker/page_store.h). No message is allocated and the bodies' pages
// of the mapped files are only touched by the CRC. Every other record (removals,
// dead-letter moves, destinations, durable subscriptions, windows) is decoded as
// before: they hold no bodies.
//
// Inspect mode (verify-store) changes nothing and, instead of stopping at the first
// problem, lists every problem it can find; what repair mode would clean up is listed
// as notes.
//
// Loop thread (start-up), or the CLI's main thread for verify-store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "broker/event.h"
#include "store/identity.h"
#include "store/live_set.h"
#include "store/retention.h"
#include "store/segment_set.h"

namespace twinmq::store {

class ReplayTarget {
 public:
  // One journaled event, in log order, located at (file, offset), `frame_bytes` long.
  virtual void replay(Seq seq, const broker::Event& e, FileNo file, std::uint64_t offset,
                      std::uint32_t frame_bytes) = 0;
  // Bodies::index_only: a MessageEnqueued or TransactionCommitted record, read without
  // building its messages (store/index_decoder.h). Only a target that asks for
  // index-only recovery gets these.
  virtual void replay_indexed(Seq seq, const broker::IndexedEnqueue& e, FileNo file, std::uint64_t offset,
                              std::uint32_t frame_bytes);

 protected:
  ~ReplayTarget() = default;
};

// What recovery builds of each stored message.
enum class Bodies {
  decode,      // a broker::Message each (headers and body in memory): replay()
  index_only,  // only what the index needs, for a target that pages them: replay_indexed()
};

enum class RecoveryMode {
  repair,   // start-up: truncate torn tails, remove left-overs, refuse on real damage
  inspect,  // verify-store: change nothing, list every problem
};

struct FileSummary {
  std::string name;
  FileKind kind = FileKind::segment;
  Seq seq;      // segment: first seq; checkpoint: seq it stands for
  Seq last;     // last seq covered
  std::uint64_t epoch = 0;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
};

struct RecoveryReport {
  std::vector<FileSummary> files;     // the files the journal continues with
  Seq checkpoint_seq;                 // 0: no checkpoint
  Seq first_seq{1};                   // first seq the segments hold (checkpoint_seq + 1)
  Seq last_seq;                       // last seq covered by the journal
  std::uint64_t next_message_id = 1;
  std::uint64_t records = 0;
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  std::uint64_t truncated_bytes = 0;  // torn tail cut (repair) or to be cut (inspect)
  std::string truncation;             // where and why
  std::vector<std::string> notes;     // clean-up done (repair) or due (inspect)
  std::vector<std::string> problems;  // inspect: every problem; repair: the one refused
  double seconds = 0;
  // The newest seq whose event the segments do not hold whole (store/retention.h
  // unjournaled_in), over the kept and the replayed segments; 0: none.
  Seq last_unjournaled;
  std::uint64_t retained_segments = 0;  // covered segments kept for a slave (repair, with `retain`)
};

// Replays the store in `dir` (whose identity the caller loaded) into `target`,
// registering the files it keeps in `files`. In repair mode a problem is returned as
// the error (Errc::corrupt, foreign_file or unsupported_version); in inspect mode it is
// listed in the report and the walk goes on where it can.
// With Bodies::index_only, message records reach the target through replay_indexed()
// (see "INDEX-ONLY" above); every other record, and a message record that holds a
// non-persistent message, through replay().
// With `retain` (repair mode), segments the checkpoint covers are not all removed: the
// newest that the policy keeps (store/retention.h) are checked and registered in
// `files`, before the replayed ones, for a slave that is away.
Result<RecoveryReport> recover_store(const std::string& dir, const StoreIdentity& identity,
                                     ReplayTarget& target, SegmentSet& files, RecoveryMode mode,
                                     const RetainPolicy& retain = {}, Bodies bodies = Bodies::decode);

}  // namespace twinmq::store
