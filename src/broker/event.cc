// broker/event.cc — which events the journal must write.
//
// Destinations and durable subscriptions are always persistent state (they exist
// after a restart even when every message on them was non-persistent); message
// events follow the message's own flag, and duplicate-detection ids their SEND's (a
// window written out whole is always kept: its first event replaces the window).
#include "broker/event.h"

#include <type_traits>

namespace twinmq::broker {

bool is_persistent(const Event& e) {
  return std::visit(
      [](const auto& ev) -> bool {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, MessageEnqueued>) {
          return ev.message && ev.message->persistent();
        } else if constexpr (std::is_same_v<T, MessageRemoved> ||
                             std::is_same_v<T, MessageDeadLettered> ||
                             std::is_same_v<T, DuplicateIdsRecorded>) {
          return ev.persistent;
        } else if constexpr (std::is_same_v<T, TransactionCommitted>) {
          for (const MessageRef& m : ev.sends)
            if (m->persistent()) return true;
          for (const AckedMessage& a : ev.acks)
            if (a.persistent) return true;
          return false;
        } else {
          return true;
        }
      },
      e);
}

}  // namespace twinmq::broker
