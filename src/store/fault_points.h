// store/fault_points.h — named places in the journal's I/O path where a test can make
// the system misbehave: a write that fails with ENOSPC or EIO, a short write, a failed
// fdatasync, or a process that dies half way through a write.
//
// Unit tests arm points directly; the crash and disk-full integration tests arm them
// in a real broker process through the environment:
//
//   TWINMQ_FAULT="write_enospc:3"            the next 3 segment writes fail with ENOSPC
//   TWINMQ_FAULT="crash_mid_write:1@200"     let 200 writes pass, then die in the 201st
//   TWINMQ_FAULT="sync_eio:1,write_short:5"  several points, comma separated
//   TWINMQ_FAULT="sync_slow:1000000"         a slow disk (8 MiB/s, 20 ms per sync)
//
// Syntax per point: <name>:<count>[@<skip>] — after `skip` hits pass, the next `count`
// hits fire. The names are those of FaultPoint below.
//
// Thread: armed from any thread (tests arm while the writer thread runs); checked on
// the writer thread. Process-wide state (one registry), so tests disarm_all_faults().
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/result.h"

namespace twinmq::store {

enum class FaultPoint {
  write_enospc,      // a segment/checkpoint write fails with ENOSPC
  write_eio,         // a segment/checkpoint write fails with EIO
  write_short,       // a write stores only half its bytes (the writer must write the rest)
  sync_eio,          // fdatasync fails with EIO
  create_enospc,     // creating a segment file fails with ENOSPC
  crash_mid_write,   // half a write reaches the file, then the process is SIGKILLed
  crash_after_sync,  // the process is SIGKILLed after a batch is synced, before it is reported
  sync_slow,         // a slow disk: a write round takes as long as kSlowDisk* say
};

inline constexpr int kFaultPointCount = 8;
// The disk sync_slow pretends to be (TWINMQ_FAULT="sync_slow:1000000"): each write
// round (its writes and fdatasync) takes at least 20 ms and writes 8 MiB/s.
inline constexpr int kSlowDiskSyncMillis = 20;
inline constexpr std::uint64_t kSlowDiskBytesPerSecond = 8u << 20;

std::string_view fault_point_name(FaultPoint p);
std::optional<FaultPoint> fault_point_by_name(std::string_view name);

// After `skip` hits pass, the next `count` hits of `p` fire.
void arm_fault(FaultPoint p, int count, int skip = 0);
void disarm_all_faults();
// Called at the point: true if it fires now (consumes one).
bool fault_fires(FaultPoint p);
// Parses TWINMQ_FAULT (if set) and arms what it names. Errors name the bad part.
Result<void> arm_faults_from_env();

}  // namespace twinmq::store
