// test/unit/store/support.h — drivers for journal tests.
//
// TempDir and run_until come from ../loop_test_support.h (shared with the replication tests).
// RecordingClient: a broker::Client that keeps what it receives. Node: one broker
// "process" — a Loop, a Broker and a Journal on a data directory, opened and started
// in its constructor and closed in its destructor — so a test restarts a broker by
// letting one Node go and making another on the same directory.
//
// Lifecycle: test-local. Node members are declared so that the journal closes first,
// then the broker goes, then the loop (which asserts every handle closed).
#pragma once

#include <doctest.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "../loop_test_support.h"
#include "broker/broker.h"
#include "net/loop.h"
#include "net/timer.h"
#include "store/fault_points.h"
#include "store/journal.h"

namespace twinmq::store::test {

using unit_test::run_until;
using unit_test::TempDir;

struct Received {
  std::string subscription;
  std::uint64_t ack_tag = 0;
  std::uint64_t id = 0;
  std::string id_text;
  std::string destination;
  std::string body;
  // Everything else a consumer sees: headers in order, priority, expiry, timestamp,
  // persistence, redelivery (index-only recovery is compared byte for byte on these).
  std::string rest;
};

class RecordingClient final : public broker::Client {
 public:
  std::vector<Received> got;
  Seq released;
  bool can_accept() const override { return true; }
  void deliver(const broker::Delivery& d) override {
    std::string rest;
    for (const broker::HeaderView& h : d.message.headers()) rest.append(h.name).append(":").append(h.value).append("\n");
    rest += "priority=" + std::to_string(d.message.priority()) + " expires=" + std::to_string(d.message.expires_ms()) +
            " timestamp=" + std::to_string(d.message.timestamp_ms()) + " persistent=" +
            std::to_string(d.message.persistent()) + " redelivered=" + std::to_string(d.redelivered) + "/" +
            std::to_string(d.redelivery_count);
    got.push_back(Received{std::string(d.subscription_id), d.ack_tag, d.message.id(),
                           std::string(d.message.id_text()), std::string(d.message.destination()),
                           std::string(d.message.body()), std::move(rest)});
  }
  void on_released(Seq s) override { released = s; }
};

inline config::JournalConfig journal_config(const std::string& dir, std::uint64_t max_segment = 32u << 20,
                                            bool sync = true) {
  config::JournalConfig c;
  c.directory = dir;
  c.max_segment_size = max_segment;
  c.sync_on_write = sync;
  return c;
}

inline JournalOptions no_compaction() {
  JournalOptions o;
  o.compaction = false;
  return o;
}

using PolicyFor = std::function<broker::DestinationPolicy(std::string_view)>;

inline broker::BrokerOptions broker_options(PolicyFor policy_for) {
  broker::BrokerOptions o;
  o.id_prefix = "test";
  o.policy_for = std::move(policy_for);
  return o;
}

// /queue/poison dead-letters at the first NACK; everything else has the defaults.
inline broker::DestinationPolicy poison_policy(std::string_view dest) {
  broker::DestinationPolicy p;
  if (dest == "/queue/poison") p.maximum_redeliveries = 0;
  return p;
}

struct Node {
  net::Loop loop;
  broker::Broker broker;
  std::unique_ptr<Journal> journal;
  RecoveryReport report;
  RecordingClient client;
  ConnId conn;

  explicit Node(const config::JournalConfig& cfg, const JournalOptions& opts = {},
                PolicyFor policy_for = poison_policy, std::string client_id = "c1",
                std::uint64_t memory_limit = 0)
      : broker([&] {
          broker::BrokerOptions o = broker_options(std::move(policy_for));
          o.memory_limit = memory_limit;
          return o;
        }()) {
    auto j = Journal::open(loop, cfg, opts);
    REQUIRE_MESSAGE(j.has_value(), (j ? std::string() : j.error().message));
    journal = std::move(*j);
    auto r = journal->start(broker);
    REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message));
    report = *r;
    conn = broker.attach(client, client_id);
  }
  ~Node() {
    broker.detach(conn);
    journal->close();
  }

  Result<Seq> send(std::string_view dest, std::string_view body, bool persistent = true,
                   std::string_view tx = {}) {
    return send_with_headers(dest, body, persistent, tx, {});
  }
  Seq send_ok(std::string_view dest, std::string_view body, bool persistent = true, std::string_view tx = {}) {
    return sent_ok(send(dest, body, persistent, tx));
  }
  // A SEND carrying a duplicate-detection id (`_AMQ_DUPL_ID`).
  Result<Seq> send_id(std::string_view dest, std::string_view body, std::string_view id, bool persistent = true,
                      std::string_view tx = {}) {
    const broker::HeaderView headers[] = {{broker::kDuplicateIdHeader, id}};
    return send_with_headers(dest, body, persistent, tx, headers);
  }
  Seq send_id_ok(std::string_view dest, std::string_view body, std::string_view id, bool persistent = true,
                 std::string_view tx = {}) {
    return sent_ok(send_id(dest, body, id, persistent, tx));
  }
  Result<Seq> send_with_headers(std::string_view dest, std::string_view body, bool persistent, std::string_view tx,
                                std::span<const broker::HeaderView> headers) {
    broker::SendRequest r;
    r.destination = dest;
    r.body = body;
    r.persistent = persistent;
    r.transaction = tx;
    r.headers = headers;
    return broker.send(conn, r);
  }
  static Seq sent_ok(const Result<Seq>& r) {
    REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message));
    return *r;
  }
  Seq subscribe(std::string_view id, std::string_view dest, broker::AckMode ack = broker::AckMode::auto_ack,
                std::string_view durable = {}, std::uint32_t prefetch = 0) {
    broker::SubscribeRequest r;
    r.id = id;
    r.destination = dest;
    r.ack = ack;
    r.durable_name = durable;
    r.prefetch = prefetch;
    auto s = broker.subscribe(conn, r);
    REQUIRE_MESSAGE(s.has_value(), (s ? std::string() : s.error().message));
    return *s;
  }
  Seq ack(std::uint64_t tag, bool nack = false, std::string_view tx = {}) {
    broker::AckRequest r;
    const std::string id = std::to_string(tag);
    r.ack_id = id;
    r.nack = nack;
    r.transaction = tx;
    auto a = broker.ack(conn, r);
    REQUIRE_MESSAGE(a.has_value(), (a ? std::string() : a.error().message));
    return *a;
  }
  // Everything given to the journal is durable.
  bool settle() {
    return run_until(loop, [&] { return journal->last_durable_seq() == journal->last_seq(); });
  }
  // Destination -> depth (+ inflight): what a restart must give back.
  std::map<std::string, std::size_t> queued() const {
    std::map<std::string, std::size_t> out;
    for (const auto& s : broker.stats()) out[s.name] = s.depth + s.inflight;
    return out;
  }
};

inline std::string describe(const std::map<std::string, std::size_t>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += k + "=" + std::to_string(v) + " ";
  return out;
}

// Bytes of every file in `dir` (the journal's disk use).
// The writer thread may remove a file between listing and sizing it: skip those.
inline std::uint64_t dir_bytes(const std::string& dir) {
  std::uint64_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(e.path(), ec);
    if (!ec) n += size;
  }
  return n;
}

inline std::vector<std::string> files_with(const std::string& dir, std::string_view ext) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().ends_with(ext)) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Offsets of every record in a journal file (walking the frames).
inline std::vector<std::uint64_t> record_offsets(const std::string& path) {
  const std::string bytes = read_file(path);
  std::vector<std::uint64_t> out;
  std::uint64_t off = kFileHeaderSize;
  auto span = std::as_bytes(std::span(bytes.data(), bytes.size()));
  while (off < bytes.size()) {
    RecordAt rec;
    if (read_record(span, off, rec) != RecordCheck::ok) break;
    out.push_back(off);
    off += rec.size;
  }
  return out;
}

// Disarms every fault point when a test ends, passing or failing.
struct FaultGuard {
  ~FaultGuard() { disarm_all_faults(); }
};

}  // namespace twinmq::store::test
