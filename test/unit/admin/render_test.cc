// test/unit/admin/render_test.cc — the status model's three renderings agree with it.
#include <doctest.h>

#include <nlohmann/json.hpp>

#include "admin/metrics.h"
#include "admin/status_json.h"
#include "admin/status_text.h"
#include "support.h"

using namespace twinmq::admin;
using twinmq::admin::test::sample_master;

TEST_CASE("admin: the `twinmq status` text keeps its lines and keys") {
  const std::string t = status_text(sample_master());
  CHECK(t ==
        "broker: a\n"
        "role: master\n"
        "role since: 12.3 s ago (replication connector)\n"
        "link: streaming\n"
        "peer: slave 'b' at 127.0.0.1:40522\n"
        "last seq: 42\n"
        "sent: 42\n"
        "applied by slave: 40\n"
        "lag: 2\n"
        "clients paused for the slave: 0 times, 0.0 s in all\n"
        "in sync: yes\n"
        "client connectors: open stomp=61613\n"
        "journal: /var/lib/twinmq/journal, durable up to seq 41\n"
        "journal writes: 30 messages in 2 rounds (15.0 per fdatasync)\n");
}

TEST_CASE("admin: a slave's text shows received/applied/master last seq, and why connectors are closed") {
  BrokerStatus s = sample_master();
  s.role = s.text_role = "slave";
  s.peer.peer_last_seq = 50;
  s.connectors_open = false;
  s.closed_reason = "";
  const std::string t = status_text(s);
  CHECK(t.find("received: 42\napplied: 40\nmaster last seq: 50\nlag: 2\n") != std::string::npos);
  CHECK(t.find("client connectors: closed\n") != std::string::npos);
  s.closed_reason = "waitForSlave=\"true\"";
  CHECK(status_text(s).find("client connectors: closed (waitForSlave=\"true\")\n") != std::string::npos);
}

TEST_CASE("admin: /status JSON carries the model's facts") {
  const auto j = nlohmann::json::parse(status_json(sample_master()));
  CHECK(j["broker"] == "a");
  CHECK(j["role"] == "master");
  CHECK(j["serving"] == true);
  CHECK(j["epoch"] == 1);
  CHECK(j["peer"]["in_sync"] == true);
  CHECK(j["peer"]["lag_events"] == 2);
  CHECK(j["peer"]["lag_bytes"] == 310);
  CHECK(j["peer"]["last_ack_ms_ago"] == 3);
  CHECK(j["peer"]["sequence_sent"] == 42);
  CHECK(j["peer"]["sequence_applied"] == 40);
  CHECK(j["store"]["last_durable_seq"] == 41);
  CHECK(j["store"]["fsyncs"] == 2);
  CHECK(j["store"]["messages_written"] == 30);
  CHECK(j["store"]["write_groups"] == 2);
  CHECK(j["store"]["messages_per_write_group"] == 15.0);
  CHECK(j["connectors"][0]["listening"] == true);
  REQUIRE(j["destinations"].size() == 2);
  CHECK(j["destinations"][0]["name"] == "/queue/orders");
  CHECK(j["destinations"][0]["depth"] == 3);
  CHECK(j["destinations"][0]["producers"] == 1);
  CHECK(j["witness"].is_null());
  CHECK(j["memory"].is_null());  // the sample has no broker memory figures

  BrokerStatus with_memory = sample_master();
  with_memory.memory = MemoryStatus{4096, 1 << 20, 0, 0, 2, 1500};
  const auto m = nlohmann::json::parse(status_json(with_memory));
  CHECK(m["memory"]["used_bytes"] == 4096);
  CHECK(m["memory"]["limit_bytes"] == 1 << 20);
  CHECK(m["memory"]["waiting_producers"] == 2);
  CHECK(m["memory"]["paged_messages"] == 1500);
}

TEST_CASE("admin: a single broker has no peer; a slave is not ready and says its role") {
  BrokerStatus s = sample_master();
  s.replication = false;
  s.role = "single";
  auto j = nlohmann::json::parse(status_json(s));
  CHECK(j["peer"].is_null());
  CHECK(j["role"] == "single");
  s.role = "slave";
  s.serving = false;
  j = nlohmann::json::parse(readiness_json(s));
  CHECK(j["ready"] == false);
  CHECK(j["role"] == "slave");
  CHECK(j["reason"].get<std::string>().find("slave") != std::string::npos);
}

TEST_CASE("admin: /metrics names, types and escaped labels") {
  const std::string m = metrics_text(sample_master());
  auto has = [&](const std::string& line) {
    INFO(line);
    CHECK(m.find(line) != std::string::npos);
  };
  has("# TYPE twinmq_destination_depth gauge\n");
  has("twinmq_destination_depth{destination=\"/queue/orders\",kind=\"queue\"} 3\n");
  has("# TYPE twinmq_destination_enqueued_total counter\n");
  has("twinmq_destination_expired_total{destination=\"/queue/orders\",kind=\"queue\"} 1\n");
  has("twinmq_destination_consumers{destination=\"/topic/we\\\"ird\\\\name\",kind=\"topic\"} 2\n");
  has("twinmq_ha_role{role=\"master\"} 1\n");
  has("twinmq_ha_role{role=\"slave\"} 0\n");
  has("twinmq_ha_replication_in_sync 1\n");
  has("twinmq_ha_lag_events 2\n");
  has("twinmq_ha_last_slave_ack_age_seconds 0.003\n");
  has("twinmq_ha_epoch 1\n");
  has("# TYPE twinmq_ha_failovers_total counter\n");
  has("# TYPE twinmq_journal_fsync_duration_seconds histogram\n");
  has("twinmq_journal_fsync_duration_seconds_bucket{le=\"0.0005\"} 1\n");
  has("twinmq_journal_fsync_duration_seconds_bucket{le=\"0.0025\"} 2\n");
  has("twinmq_journal_fsync_duration_seconds_bucket{le=\"+Inf\"} 2\n");
  has("twinmq_journal_fsync_duration_seconds_count 2\n");
  has("# TYPE twinmq_journal_messages_total counter\ntwinmq_journal_messages_total 30\n");
  has("# TYPE twinmq_journal_write_groups_total counter\ntwinmq_journal_write_groups_total 2\n");
  has("twinmq_connections 2\n");
  has("twinmq_connections_accepted_total{connector=\"stomp\"} 5\n");
  // Every counter family ends in _total; every family has HELP and TYPE.
  std::size_t helps = 0, types = 0;
  for (std::size_t at = 0; (at = m.find("# HELP ", at)) != std::string::npos; ++at) ++helps;
  for (std::size_t at = 0; (at = m.find("# TYPE ", at)) != std::string::npos; ++at) {
    ++types;
    const std::string line = m.substr(at, m.find('\n', at) - at);
    if (line.ends_with(" counter")) CHECK(line.find("_total counter") != std::string::npos);
  }
  CHECK(helps == types);
}

TEST_CASE("admin: /metrics memory used against its limits, in bytes; a limit not configured is left out") {
  BrokerStatus s = sample_master();
  s.memory = MemoryStatus{12'345, 64 << 20, 2048, 1 << 30, 1, 7};
  s.destinations[0].memory_bytes = 4096;
  s.destinations[0].memory_limit = 1 << 20;
  s.destinations[1].memory_bytes = 100;
  std::string m = metrics_text(s);
  auto has = [&](const std::string& line) {
    INFO(line);
    CHECK(m.find(line) != std::string::npos);
  };
  has("# TYPE twinmq_memory_used_bytes gauge\ntwinmq_memory_used_bytes 12345\n");
  has("twinmq_memory_limit_bytes 67108864\n");
  has("twinmq_store_live_bytes 2048\n");
  has("twinmq_store_limit_bytes 1073741824\n");
  has("twinmq_producers_waiting 1\n");
  has("# TYPE twinmq_messages_paged gauge\ntwinmq_messages_paged 7\n");
  has("twinmq_destination_memory_used_bytes{destination=\"/queue/orders\",kind=\"queue\"} 4096\n");
  has("twinmq_destination_memory_used_bytes{destination=\"/topic/we\\\"ird\\\\name\",kind=\"topic\"} 100\n");
  has("twinmq_destination_memory_limit_bytes{destination=\"/queue/orders\",kind=\"queue\"} 1048576\n");
  CHECK(m.find("twinmq_destination_memory_limit_bytes{destination=\"/topic") == std::string::npos);

  s.memory = MemoryStatus{12'345, 0, 0, 0, 0};
  s.destinations[0].memory_limit = 0;
  m = metrics_text(s);
  CHECK(m.find("twinmq_memory_used_bytes 12345\n") != std::string::npos);
  CHECK(m.find("twinmq_memory_limit_bytes") == std::string::npos);
  CHECK(m.find("twinmq_store_limit_bytes") == std::string::npos);
  CHECK(m.find("twinmq_destination_memory_limit_bytes") == std::string::npos);
}
