// store/retention.h — which journal segments a member of a pair keeps for a slave that
// is away (replicationRetainBytes, replicationRetainPeriod), so that the slave catches
// up from them on return instead of getting a full copy (replication/handshake.h).
//
// A compaction replaces every file up to its checkpoint C. Of the segments it replaces,
// it keeps the newest (whole, newest first) while together they fit in `bytes` and
// each was last written less than `max_age_ms` ago: a suffix of the covered segments,
// contiguous, ending at C. They are not replayed (the checkpoint holds their state);
// Journal::read_from() still reads them.
//
// The files are the state: nothing else is recorded. So the same rule, applied at
// start-up by recovery to the covered segments it finds (store/recovery.h), keeps
// them across a restart, and the time bound is measured from each file's modification
// time (when it was last written), which survives a restart too. The journal's
// periodic check releases a segment once it is older than max_age_ms, and logs it:
// a slave that needed it gets a full copy.
//
// Pure functions and one file scan; any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "store/identity.h"

namespace twinmq::store {

struct RetainPolicy {
  std::uint64_t bytes = 0;       // replicationRetainBytes; 0 = keep none
  std::uint32_t max_age_ms = 0;  // replicationRetainPeriod; 0 = no time bound
};

// A segment that could be kept: its size and when it was last written (wall clock ms).
struct RetainCandidate {
  std::uint64_t size = 0;
  std::int64_t written_ms = 0;
};

// How many of `covered` (oldest first) to drop: the ones before the returned index.
// `written` is asked only for the segments that fit in the byte bound, newest first.
std::size_t first_kept(std::size_t count, const std::function<std::uint64_t(std::size_t)>& size_of,
                       const std::function<std::int64_t(std::size_t)>& written_ms_of, const RetainPolicy& policy,
                       std::int64_t now_ms);

// Whether a segment last written at `written_ms` is past the time bound at `now_ms`.
bool expired(std::int64_t written_ms, const RetainPolicy& policy, std::int64_t now_ms);

// The file's modification time in wall-clock ms (0 when it cannot be read).
std::int64_t written_ms(const std::string& path);

// A covered segment recovery keeps: checked like a replayed one (header, each record's
// CRC, continuity), never applied.
struct RetainedSegment {
  Seq first, last;
  std::uint64_t epoch = 0;
  std::uint64_t size = 0;
  // The newest seq in it whose event is not wholly in the journal (a skipped seq, a skip
  // record, a transaction that may have had non-persistent parts); 0: none.
  Seq last_unjournaled;
};
Result<RetainedSegment> scan_retained(const std::string& path, const StoreIdentity& identity, Seq checkpoint);

// The newest seq a segment record leaves out of the journal (see RetainedSegment), for
// a record `seq` that covers `skipped` seqs before it and has `type`.
Seq unjournaled_in(Seq seq, std::uint32_t skipped, std::uint16_t type);

}  // namespace twinmq::store
