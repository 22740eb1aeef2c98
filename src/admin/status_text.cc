// admin/status_text.cc — `twinmq status` text (admin/status_text.h). The lines and
// their order are those the command has always printed; new facts go to /status.
#include "admin/status_text.h"

#include <fmt/format.h>

namespace twinmq::admin {

std::string status_text(const BrokerStatus& s) {
  std::string out;
  auto line = [&](std::string_view key, std::string_view value) { out += fmt::format("{}: {}\n", key, value); };
  const PeerStatus& p = s.peer;
  line("broker", s.broker_name);
  line("role", s.text_role);
  line("role since", fmt::format("{:.1f} s ago ({})", static_cast<double>(s.now_wall_ms - s.role_since_wall_ms) / 1000.0,
                                 s.role_reason));
  line("link", p.link_state);
  line("peer", p.description.empty() ? "(none)" : p.description);
  line("last seq", std::to_string(s.last_seq));
  if (s.text_role == "master") {
    line("sent", std::to_string(p.sent));
    line("applied by slave", std::to_string(p.applied));
    line("lag", std::to_string(p.lag_events));
    line("clients paused for the slave", fmt::format("{} times, {:.1f} s in all", p.behind_pauses,
                                                     static_cast<double>(p.behind_ms) / 1000.0));
  } else {
    line("received", std::to_string(p.sent));
    line("applied", std::to_string(p.applied));
    line("master last seq", std::to_string(p.peer_last_seq));
    line("lag", std::to_string(p.lag_events));
  }
  line("in sync", p.in_sync ? "yes" : "no");
  if (!p.note.empty()) line("note", p.note);
  out += "client connectors: ";
  if (s.connectors_open) {
    out += "open";
    for (const ConnectorStatus& c : s.connectors) out += fmt::format(" {}={}", c.name, c.port);
  } else {
    out += "closed";
    if (!s.closed_reason.empty()) out += " (" + s.closed_reason + ")";
  }
  out += "\n";
  if (s.store) {
    out += fmt::format("journal: {}, durable up to seq {}\n", s.store->directory, s.store->last_durable_seq);
    // Group commit at a glance: how many messages shared one write round (one fdatasync).
    if (s.store->write_groups != 0)
      out += fmt::format("journal writes: {} messages in {} rounds ({:.1f} per fdatasync)\n", s.store->message_records,
                         s.store->write_groups,
                         static_cast<double>(s.store->message_records) / static_cast<double>(s.store->write_groups));
    if (s.store->cancelled_sends != 0)
      out += fmt::format("journal: {} sends consumed before written (not written, not mirrored)\n",
                         s.store->cancelled_sends);
  }
  if (s.witness) out += s.witness->text;
  return out;
}

}  // namespace twinmq::admin
