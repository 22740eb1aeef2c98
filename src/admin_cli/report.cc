// admin_cli/report.cc — twinmq-admin's output (admin_cli/report.h).
#include "admin_cli/report.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/printable.h"

namespace twinmq::admin_cli {

namespace {

using nlohmann::json;

// A field of `j` or a fallback, whatever is (or is not) there: an older or newer
// broker's JSON must not make the tool throw.
template <class T>
T field(const json& j, const char* name, T fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

std::string text(const json& j, const char* name) { return field<std::string>(j, name, ""); }

const json& object(const json& j, const char* name) {
  static const json kEmpty = json::object();
  if (!j.is_object()) return kEmpty;
  auto it = j.find(name);
  return it != j.end() && it->is_object() ? *it : kEmpty;
}

// A peer is attached while the link hears from it: a promoted broker keeps its old
// master's description, but hears nothing from it.
bool peer_attached(const json& peer) { return field<std::int64_t>(peer, "last_heard_ms_ago", -1) >= 0; }

std::string ms_ago(const json& j, const char* name) {
  const std::int64_t ms = field<std::int64_t>(j, name, -1);
  return ms < 0 ? std::string("never") : fmt::format("{} ms ago", ms);
}

std::string memory_percent(const json& d) {
  const std::uint64_t used = field<std::uint64_t>(d, "memory_bytes", 0);
  const std::uint64_t limit = field<std::uint64_t>(d, "memory_limit_bytes", 0);
  if (limit == 0) return "-";
  return fmt::format("{}", used * 100 / limit);
}

}  // namespace

Verdict check_live(long status) {
  if (status == 200) return {Exit::ok, "OK: the broker's event loop answers"};
  return {Exit::critical, fmt::format("CRITICAL: /livez answered HTTP {}", status)};
}

Verdict check_ready(long status, const json& body) {
  const std::string role = text(body, "role");
  if (status == 200) return {Exit::ok, fmt::format("OK: serving clients (role {})", role)};
  if (status == 503)
    return {Exit::critical, fmt::format("CRITICAL: not serving clients (role {}): {}", role, text(body, "reason"))};
  return {Exit::critical, fmt::format("CRITICAL: /readyz answered HTTP {}", status)};
}

bool in_sync(const json& status) { return field<bool>(object(status, "peer"), "in_sync", false); }

Verdict check_in_sync(const json& status) {
  const std::string role = text(status, "role");
  const json& peer = object(status, "peer");
  const std::uint64_t lag = field<std::uint64_t>(peer, "lag_events", 0);
  if (role == "single" || role.empty())
    return {Exit::critical, "CRITICAL: no replication configured: there is no standby"};
  const std::string who = text(peer, "description");
  if (field<bool>(peer, "in_sync", false))
    return {Exit::ok, fmt::format("OK: {} in sync with {} (lag {} events, last heard {})", role, who, lag,
                                  ms_ago(peer, "last_heard_ms_ago"))};
  if (peer_attached(peer))
    return {Exit::warning, fmt::format("WARNING: {} attached to {} but not in sync yet ({}; lag {} events)", role, who,
                                       text(peer, "link_state"), lag)};
  if (role == "slave")
    return {Exit::critical, fmt::format("CRITICAL: slave not connected to its master ({}{})", text(peer, "link_state"),
                                        text(peer, "note").empty() ? "" : ": " + text(peer, "note"))};
  return {Exit::critical, fmt::format("CRITICAL: {} has no slave attached ({}): if it died now, nothing would take "
                                      "over with its data",
                                      role, text(peer, "link_state"))};
}

std::string status_table(const json& s) {
  std::string out;
  out += fmt::format("broker     {} (twinmq {})\n", text(s, "broker"), text(s, "version"));
  out += fmt::format("role       {}{}\n", text(s, "role"),
                     text(s, "role_reason").empty() ? "" : " (" + text(s, "role_reason") + ")");
  out += fmt::format("serving    {}{}\n", field<bool>(s, "serving", false) ? "yes" : "no",
                     text(s, "connectors_closed_reason").empty() ? "" : " (" + text(s, "connectors_closed_reason") + ")");
  out += fmt::format("uptime     {} s\n", field<std::int64_t>(s, "uptime_ms", 0) / 1000);
  const json& peer = object(s, "peer");
  if (text(s, "role") != "single") {
    const Verdict v = check_in_sync(s);
    out += fmt::format("peer       {}\n", text(peer, "description").empty() ? "(none)" : text(peer, "description"));
    out += fmt::format("link       {}, last heard {}, lag {} events / {} bytes\n", text(peer, "link_state"),
                       ms_ago(peer, "last_heard_ms_ago"), field<std::uint64_t>(peer, "lag_events", 0),
                       field<std::uint64_t>(peer, "lag_bytes", 0));
    out += fmt::format("in sync    {}\n", v.line);
  }
  out += fmt::format("sequence   {}  epoch {}\n", field<std::uint64_t>(s, "last_seq", 0),
                     field<std::uint64_t>(s, "epoch", 0));
  const json& store = object(s, "store");
  if (!store.empty())
    out += fmt::format("store      {} ({} bytes in {} files{})\n", text(store, "directory"),
                       field<std::uint64_t>(store, "size_bytes", 0), field<std::uint64_t>(store, "files", 0),
                       field<bool>(store, "refusing_writes", false) ? ", REFUSING WRITES: " + text(store, "refusal") : "");
  out += fmt::format("clients    {} connection(s)\n", field<std::uint64_t>(s, "connections", 0));
  if (auto it = s.find("connectors"); it != s.end() && it->is_array())
    for (const json& c : *it)
      out += fmt::format("connector  {} {}\n", text(c, "name"),
                         field<bool>(c, "listening", false) ? "listening on " + text(c, "address") : "closed");
  out += "\n" + dstat_table(s);
  return out;
}

std::string dstat_table(const json& s) {
  struct Row {
    std::string name, size, producers, consumers, enqueued, dequeued, memory;
  };
  std::vector<Row> rows;
  rows.push_back({"Name", "Queue Size", "Producer #", "Consumer #", "Enqueue #", "Dequeue #", "Memory %"});
  if (auto it = s.find("destinations"); it != s.end() && it->is_array())
    for (const json& d : *it)
      rows.push_back({printable(text(d, "name"), 200), std::to_string(field<std::uint64_t>(d, "depth", 0)),
                      std::to_string(field<std::uint64_t>(d, "producers", 0)),
                      std::to_string(field<std::uint64_t>(d, "consumers", 0)),
                      std::to_string(field<std::uint64_t>(d, "enqueued", 0)),
                      std::to_string(field<std::uint64_t>(d, "dequeued", 0)), memory_percent(d)});
  std::size_t w = 4;
  for (const Row& r : rows) w = std::max(w, r.name.size());
  std::string out;
  for (const Row& r : rows)
    out += fmt::format("{:<{}}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {:>8}\n", r.name, w, r.size, r.producers,
                       r.consumers, r.enqueued, r.dequeued, r.memory);
  if (rows.size() == 1) out += "(no destinations)\n";
  return out;
}

std::string browse_listing(const json& answer) {
  std::string out;
  const json empty = json::array();
  const json& messages = answer.contains("messages") && answer["messages"].is_array() ? answer["messages"] : empty;
  out += fmt::format("{}: {} message(s) waiting, showing {}\n", text(answer, "queue"),
                     field<std::uint64_t>(answer, "depth", 0), messages.size());
  for (const json& m : messages) {
    out += fmt::format("\n{}  priority {}  {}{}  {} bytes\n", text(m, "id"), field<int>(m, "priority", 4),
                       field<bool>(m, "persistent", false) ? "persistent" : "non-persistent",
                       field<bool>(m, "redelivered", false) ? "  redelivered" : "",
                       field<std::uint64_t>(m, "body_bytes", 0));
    if (auto it = m.find("headers"); it != m.end() && it->is_array())
      for (const json& h : *it)
        if (h.is_array() && h.size() == 2 && h[0].is_string() && h[1].is_string())
          out += fmt::format("  {}: {}\n", printable(h[0].get<std::string>(), 1024), printable(h[1].get<std::string>(), 1024));
    const std::string preview = text(m, "body_preview");
    const bool cut = preview.size() < field<std::uint64_t>(m, "body_bytes", 0);
    // Bytes a producer chose: control bytes (a terminal's escape sequences) never reach
    // the terminal as they are (base/printable.h).
    out += fmt::format("  body: {}{}\n", printable(preview, preview.size()), cut ? " ..." : "");
  }
  return out;
}

}  // namespace twinmq::admin_cli
