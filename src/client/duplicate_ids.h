// client/duplicate_ids.h — the duplicate-detection ids a client gives its SENDs
// (`_AMQ_DUPL_ID`, README "Failover clients" → "Duplicate detection").
//
// An id is "<prefix>:<n>": a prefix drawn at random for each client object (128 bits
// in hex, so two clients never share one) and the client's SEND number. A broker with
// duplicate detection (twinmq, ActiveMQ Artemis) stores a SEND whose id it has seen
// recently on that destination only once: a FailoverClient re-sends the SENDs that had
// no RECEIPT after a failover with the ids they had, so a message that reached the
// old master (and its slave) before the crash is not stored twice.
//
// Lifecycle: one per SyncSession / FailoverSession, for the life of the client object
// (a FailoverClient keeps its prefix across failovers). One thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace twinmq::client {

class DuplicateIdSource {
 public:
  DuplicateIdSource();

  // The next id. The view is valid until the next call.
  std::string_view next();
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  std::string buf_;  // reused: no allocation per SEND once it has grown
  std::uint64_t next_ = 1;
};

}  // namespace twinmq::client
