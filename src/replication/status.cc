// replication/status.cc — the text of `twinmq status` (replication/status.h).
#include "replication/status.h"

#include <fmt/format.h>

#include "base/clock.h"

namespace twinmq::replication {

std::string format_status(const LinkStatus& s, std::string_view broker_name) {
  std::string out;
  auto line = [&](std::string_view key, std::string_view value) { out += fmt::format("{}: {}\n", key, value); };
  line("broker", broker_name);
  line("role", role_name(s.role));
  line("role since", fmt::format("{:.1f} s ago ({})", static_cast<double>(wall_ms() - s.role_since_ms) / 1000.0,
                                 s.role_reason));
  line("link", s.link_state);
  line("peer", s.peer.empty() ? "(none)" : s.peer);
  line("last seq", std::to_string(s.last_seq.value));
  if (s.role == Role::master) {
    line("sent", std::to_string(s.sent.value));
    line("applied by slave", std::to_string(s.applied.value));
    line("lag", std::to_string(s.last_seq.value > s.applied.value && !s.peer.empty()
                                   ? s.last_seq.value - s.applied.value
                                   : 0));
    line("clients paused for the slave", fmt::format("{} times, {:.1f} s in all", s.behind_pauses,
                                                     static_cast<double>(s.behind_ms) / 1000.0));
  } else {
    line("received", std::to_string(s.sent.value));
    line("applied", std::to_string(s.applied.value));
    line("master last seq", std::to_string(s.peer_last_seq.value));
    line("lag", std::to_string(s.peer_last_seq.value > s.applied.value ? s.peer_last_seq.value - s.applied.value : 0));
  }
  line("in sync", s.in_sync ? "yes" : "no");
  if (!s.note.empty()) line("note", s.note);
  return out;
}

}  // namespace twinmq::replication
