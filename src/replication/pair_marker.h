// replication/pair_marker.h — a master's note on disk that it had a slave in sync.
//
// Why: once a slave was in sync, the slave may take over whenever this master stops
// (kill, crash, SIGTERM — a planned stop promotes it too). A master that restarts then
// cannot know whether it is still the newest copy. So the master writes this marker
// (next to the journal's identity file) when a slave becomes in sync, and a master that
// starts and finds a marker for its current store identity and epoch keeps its client
// connectors closed until a slave is in sync again (as waitForSlave does): the old
// master never serves stale state on its own. A store replaced by the recovery procedure
// (copied from the promoted slave: another epoch) makes the marker stale; it is then
// ignored and removed. An operator who knows the slave is gone for good deletes the
// file to let the master serve alone.
//
// COMPATIBILITY NOTES (file `paired`, format 1, text):
//   twinmq-pair 1
//   store-id <32 hex digits>
//   epoch <decimal>
//   slave <name and address, free text to the end of the line>
//   since <ms since the Unix epoch>
// An unreadable marker counts as a marker for the current store (the safe reading).
//
// Loop thread (start-up, and once per slave that gets in sync).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "store/identity.h"

namespace twinmq::replication {

inline constexpr std::string_view kPairMarkerFile = "paired";

struct PairMarker {
  store::StoreIdentity identity;
  std::string slave;
  std::int64_t since_ms = 0;
};

// nullopt: no marker. A marker that does not parse comes back with `identity`
// equal to `current` (it then holds the master back, the safe reading).
std::optional<PairMarker> read_pair_marker(const std::string& dir, const store::StoreIdentity& current);
Result<void> write_pair_marker(const std::string& dir, const PairMarker& marker);
Result<void> remove_pair_marker(const std::string& dir);
std::string pair_marker_path(const std::string& dir);

}  // namespace twinmq::replication
