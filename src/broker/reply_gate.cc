// broker/reply_gate.cc — the minimum over gating sources.
//
// Source ids are indexes into sources_ and are never reused: a removed source only
// turns inactive, so an id held by a dying sink can never name another one.
#include "broker/reply_gate.h"

#include <algorithm>

#include "base/assert.h"
#include "broker/event_log.h"

namespace twinmq::broker {

ReplyGate::SourceId ReplyGate::add_source(Seq initial_position, Gates gates) {
  sources_.push_back(Source{initial_position, true, gates});
  return sources_.size() - 1;
}

void ReplyGate::remove_source(SourceId id) {
  TWINMQ_ASSERT(id < sources_.size(), "unknown reply gate source");
  sources_[id].active = false;
}

bool ReplyGate::advance(SourceId id, Seq position) {
  TWINMQ_ASSERT(id < sources_.size(), "unknown reply gate source");
  Source& s = sources_[id];
  if (!s.active || position <= s.position) return false;
  const Seq before = released();
  const Seq before_np = released_non_persistent();
  s.position = position;
  return released() > before || released_non_persistent() > before_np;
}

Seq ReplyGate::lowest(bool include_persistence_only) const {
  bool any = false;
  Seq low{0};
  for (const Source& s : sources_) {
    if (!s.active) continue;
    if (!include_persistence_only && s.gates == Gates::persistent_work) continue;
    if (!any || s.position < low) low = s.position;
    any = true;
  }
  return any ? low : log_.last();
}

Seq ReplyGate::released() const { return lowest(true); }

Seq ReplyGate::released_non_persistent() const { return lowest(false); }

std::vector<ConnId> ReplyGate::take_waiting() {
  std::vector<ConnId> out(waiting_.begin(), waiting_.end());
  waiting_.clear();
  return out;
}

}  // namespace twinmq::broker
