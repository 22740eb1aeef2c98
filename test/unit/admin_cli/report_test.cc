// What twinmq-admin prints and answers from /status JSON (admin_cli/report.h): the
// check verdicts in each state of a pair, dstat's columns, a browse listing whose
// message bytes cannot reach the terminal raw.
#include <doctest.h>

#include "admin_cli/report.h"

using namespace twinmq::admin_cli;
using nlohmann::json;

namespace {

json status(const std::string& role, bool in_sync, json last_heard, const std::string& description = "") {
  return json{{"broker", "b"},
              {"role", role},
              {"serving", role != "slave"},
              {"peer", {{"in_sync", in_sync},
                        {"last_heard_ms_ago", last_heard},
                        {"description", description},
                        {"link_state", "streaming"},
                        {"lag_events", 3}}},
              {"destinations",
               json::array({json{{"name", "/queue/a"},
                                 {"depth", 5},
                                 {"producers", 1},
                                 {"consumers", 2},
                                 {"enqueued", 10},
                                 {"dequeued", 5},
                                 {"memory_bytes", 250},
                                 {"memory_limit_bytes", 1000}}})}};
}

}  // namespace

TEST_CASE("report: check in-sync: ok, warning while catching up, critical without a peer") {
  CHECK(check_in_sync(status("master", true, 3, "slave 's'")).exit == Exit::ok);
  CHECK(check_in_sync(status("slave", true, 3, "master 'm'")).exit == Exit::ok);
  const Verdict catching_up = check_in_sync(status("master", false, 3, "slave 's'"));
  CHECK(catching_up.exit == Exit::warning);
  CHECK(catching_up.line.find("lag 3 events") != std::string::npos);
  const Verdict alone = check_in_sync(status("master", false, nullptr));
  CHECK(alone.exit == Exit::critical);
  CHECK(alone.line.starts_with("CRITICAL: master has no slave attached"));
  // A promoted broker keeps its old master's description but hears nothing from it.
  CHECK(check_in_sync(status("promoted", false, nullptr, "master 'm'")).exit == Exit::critical);
  CHECK(check_in_sync(status("slave", false, nullptr)).line.starts_with("CRITICAL: slave not connected"));
  CHECK(check_in_sync(json{{"role", "single"}}).exit == Exit::critical);
  CHECK(check_in_sync(json::object()).exit == Exit::critical);  // nothing known: never "ok"
  CHECK(check_in_sync(json::array()).exit == Exit::critical);
}

TEST_CASE("report: check live and ready") {
  CHECK(check_live(200).exit == Exit::ok);
  CHECK(check_live(500).exit == Exit::critical);
  CHECK(check_ready(200, json{{"role", "master"}}).exit == Exit::ok);
  const Verdict standby = check_ready(503, json{{"role", "slave"}, {"reason", "a slave"}});
  CHECK(standby.exit == Exit::critical);
  CHECK(standby.line == "CRITICAL: not serving clients (role slave): a slave");
}

TEST_CASE("report: dstat has ActiveMQ's columns and the memory percentage") {
  const std::string t = dstat_table(status("master", true, 1));
  CHECK(t.find("Name") == 0);
  for (const char* col : {"Queue Size", "Producer #", "Consumer #", "Enqueue #", "Dequeue #", "Memory %"})
    CHECK(t.find(col) != std::string::npos);
  CHECK(t.find("/queue/a") != std::string::npos);
  CHECK(t.find("  25\n") != std::string::npos);  // 250 of 1000 bytes
  CHECK(dstat_table(json::object()).find("(no destinations)") != std::string::npos);
}

TEST_CASE("report: a browse listing escapes the bytes producers chose") {
  const json answer = {{"queue", "/queue/a"},
                       {"depth", 1},
                       {"messages", json::array({json{{"id", "ID:x-1"},
                                                      {"headers", json::array({json::array({"k", "v\x1b[2J"})})},
                                                      {"body_preview", "hi\x1b]0;owned\x07"},
                                                      {"body_bytes", 100},
                                                      {"priority", 4}}})}};
  const std::string out = browse_listing(answer);
  CHECK(out.find("\x1b") == std::string::npos);
  CHECK(out.find("k: v\\x1b[2J") != std::string::npos);
  CHECK(out.find("body: hi\\x1b]0;owned\\x07 ...") != std::string::npos);  // cut: 100 bytes
}

TEST_CASE("report: the status table names role, peer and the in-sync verdict") {
  const std::string t = status_table(status("master", true, 2, "slave 's' at 127.0.0.1:1"));
  CHECK(t.find("role       master") != std::string::npos);
  CHECK(t.find("peer       slave 's' at 127.0.0.1:1") != std::string::npos);
  CHECK(t.find("in sync    OK: master in sync") != std::string::npos);
}
