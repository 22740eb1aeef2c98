// store/history.h — a store's history as a list of record fingerprints, and where two
// such histories fork.
//
// After a link cut without a witness both brokers of a pair serve for a while, each
// journaling events the other never sees. Both stores then hold the same records up
// to some seq (the fork) and different ones after it. `twinmq compare-stores`
// (store/compare.h) finds that seq from the two histories and then lists what the
// store to be overwritten holds after it.
//
// A history holds, per event record of the store's segments: seq, record type,
// payload length, CRC-32C of the payload, and the epoch of the segment it is in.
// Checkpoint records are not in it: a checkpoint is re-encoded state (store/compactor.h),
// not the records as first written, so it cannot be compared record by record. A
// history can be written to a text file (write_history / read_history) so that two
// stores on two machines can be compared without copying one of them: twinmq-resync
// runs `twinmq compare-stores --history DIR` on one machine and compares the result
// with the store on the other.
//
// How the fork is found (find_fork):
//  1. The window: seqs both stores still hold in segments, from
//     lo = max(first seqs) to hi = min(last seqs).
//  2. Epochs: a segment whose epoch is newer than the OTHER store's epoch was written
//     after this store left the other's history (a promotion bumps the epoch and rolls
//     to a new segment), so nothing in it can be shared: the window ends before the
//     first such segment. This also keeps two identical events (two brokers each
//     adding /queue/x at the same seq after a split) from passing as shared.
//  3. Walking the window in seq order, the first seq where one store has an event
//     record and the other has none, or a different one, is where they differ; the
//     fork is the seq before it. Without a difference, the fork is the window's end.
//  4. The fork is exact when the window starts at seq 1 or at least one event agreed
//     in it. Otherwise a checkpoint replaced the records that would tell (compaction,
//     or a slave's initial copy): the histories fork at or before that seq, and the
//     report says so.
//
//      A  ckpt(100) | 101 .. 800 epoch 0 | 801 .. epoch 1 (promoted)
//      B  1 ....................... 800 | 801 .. 900 epoch 0 (served alone)
//                     window 101..800 agrees: fork 800, exact
//
// Single-threaded, no loop; reads stopped stores (a store in use is refused, like
// verify-store does).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "store/identity.h"

namespace twinmq::store {

struct HistoryRecord {
  Seq seq;
  std::uint32_t crc = 0;     // CRC-32C of the payload
  std::uint32_t length = 0;  // payload bytes
  std::uint16_t type = 0;    // RecordType
  std::uint64_t epoch = 0;   // of the segment holding it
};

struct HistorySegment {
  Seq first;   // first seq it covers
  Seq last;    // last seq it covers
  std::uint64_t epoch = 0;
};

struct StoreHistory {
  std::string source;  // the store directory, or the history file it was read from
  StoreIdentity identity;
  Seq checkpoint_seq;  // 0: none
  Seq first_seq{1};    // first seq held in segments (checkpoint_seq + 1)
  Seq last_seq;
  std::vector<HistorySegment> segments;  // in seq order
  std::vector<HistoryRecord> records;    // event records, in seq order
};

// The store directory itself (holds `identity`) or a broker's dataDirectory (store in
// DIR/journal), as twinmq-resync takes them; `dir` unchanged when neither holds one.
std::string resolve_store_dir(const std::string& dir);

// A stopped store, ready to be read: resolve_store_dir(given) and its identity. Fails
// when the directory is missing, held by a running broker (a live journal changes while
// it is read), or holds no identity.
struct StoppedStore {
  std::string dir;
  StoreIdentity identity;
};
Result<StoppedStore> open_stopped_store(const std::string& given);

// Reads the history of the stopped store in `dir`. Fails (Errc::in_use, io,
// bad_identity, corrupt, ...) when the store cannot be read whole: a damaged record is
// named by file and offset, as verify-store names it.
Result<StoreHistory> load_history(const std::string& dir);

// The history file (`twinmq compare-stores --history DIR`):
//
//   twinmq-history 1
//   store-id <32 hex digits>
//   epoch <n>
//   checkpoint <seq>          0 when the store has none
//   first <seq>
//   last <seq>
//   segment <first> <last> <epoch>            one line per segment, in seq order
//   record <seq> <type> <length> <crc hex> <epoch>   one per event record, in seq order
//   end <records>
//
// COMPATIBILITY NOTES: version 1; a reader refuses another version and any line it
// does not know (a history that is not understood is never taken as agreeing). The
// `end` line proves the file is complete.
std::string format_history(const StoreHistory& h);
Result<StoreHistory> parse_history(std::string_view text, const std::string& name_for_errors);
// Whether `path` is a history file (starts with "twinmq-history ") rather than a store.
bool is_history_file(const std::string& path);
Result<StoreHistory> read_history_file(const std::string& path);

struct ForkPoint {
  Seq seq;                    // the histories agree up to here (0: nothing in common)
  bool exact = false;         // false: the fork is at or before `seq`
  Seq window_first;           // the seqs compared record by record
  Seq window_last;            // (window_last < window_first: none)
  std::uint64_t agreed = 0;   // event records found equal in the window
  std::string why;            // what ends the common history, for people
};

// Step by step as in the design comment. Both histories must be of the same store
// (the caller checks the identities).
ForkPoint find_fork(const StoreHistory& a, const StoreHistory& b);

// Event records of `h` after `seq`.
std::uint64_t records_after(const StoreHistory& h, Seq seq);

}  // namespace twinmq::store
