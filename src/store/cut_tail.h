// store/cut_tail.h — cutting a stopped store back to a seq: what an old master does to
// its own journal before it catches up with the broker that took over (README
// "Recovering the pair": the old master rejoins), once its events after the fork were
// salvaged (store/forked_tail.h) or refused.
//
// cut_after(dir, fork) leaves the store as it was right after the event `fork`:
//  1. a checkpoint (compaction) that stands for a seq after the fork holds state the
//     cut cannot take apart: nothing is changed, the answer says so (the caller then
//     takes a full copy instead);
//  2. every segment that begins after the fork is removed, newest first;
//  3. the segment that holds the fork is truncated right after the fork's record (or
//     right before the first record that covers a seq after it), and synced;
//  4. the directory is synced.
// A crash in between leaves a shorter tail of the same history (recovery replays a
// prefix), never a damaged store. The store's identity (epoch) is not touched: the
// catch-up that follows enters the newer epochs at the master's boundaries.
//
// The store must be stopped (its journal closed; the caller holds the directory's
// lock or owns the process that did). Any thread; no loop.
#pragma once

#include <cstdint>
#include <string>

#include "base/ids.h"
#include "base/result.h"

namespace twinmq::store {

struct CutReport {
  bool cut = false;            // false: a checkpoint after the fork (see `why`); nothing changed
  std::string why;             // why not
  Seq last_seq;                // the store's last seq afterwards
  std::uint64_t segments_removed = 0;
  std::uint64_t bytes_removed = 0;
};

Result<CutReport> cut_after(const std::string& dir, Seq fork);

}  // namespace twinmq::store
