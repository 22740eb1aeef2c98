// broker/reply_gate.cc — the minimum over gating sources.
//
// Source ids are indexes into sources_ and are never reused: a removed source only
// turns inactive, so an id held by a dying sink can never name another one.
#include "broker/reply_gate.h"

#include <algorithm>

#include "base/assert.h"
#include "broker/event_log.h"

namespace twinmq::broker {

ReplyGate::SourceId ReplyGate::add_source(Seq initial_position) {
  sources_.push_back(Source{initial_position, true});
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
  s.position = position;
  return released() > before;
}

Seq ReplyGate::released() const {
  bool any = false;
  Seq lowest{0};
  for (const Source& s : sources_) {
    if (!s.active) continue;
    if (!any || s.position < lowest) lowest = s.position;
    any = true;
  }
  return any ? lowest : log_.last();
}

std::vector<ConnId> ReplyGate::take_waiting() {
  std::vector<ConnId> out(waiting_.begin(), waiting_.end());
  waiting_.clear();
  return out;
}

}  // namespace twinmq::broker
