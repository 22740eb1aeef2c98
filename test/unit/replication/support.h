// test/unit/replication/support.h — a master and a slave in one process, on one loop.
//
// Pair: a master (Broker + optional Journal + MasterLink on port 0) and a slave
// (SlaveLink with a TestHost that, like app::Runtime, owns the slave's broker and
// journal and replaces them for an initial sync). Both ends talk over real loopback TCP,
// so the link code runs exactly as in the broker; the test drives the master's broker
// through a RecordingClient and runs the loop until a condition holds (bounded).
//
// Lifecycle: test-local. The destructor closes links, then journals, then brokers, then
// the loop (which asserts every handle closed).
#pragma once

#include <doctest.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../loop_test_support.h"
#include "broker/broker.h"
#include "net/loop.h"
#include "net/timer.h"
#include "replication/initial_sync.h"
#include "replication/master_link.h"
#include "replication/slave_link.h"
#include "store/dir_lock.h"
#include "store/journal.h"

namespace twinmq::replication::test {

using unit_test::run_until;
using unit_test::TempDir;

// Runs `loop` until `done()` or `timeout_ms`; false if the deadline came first.
// Runs the loop for `ms` whatever happens (to show that something does NOT happen).
inline void run_for(net::Loop& loop, std::uint64_t ms) {
  auto t = net::Timer::create(loop);
  t->start(ms, 0, [&] { loop.stop(); });
  loop.run();
}

class RecordingClient final : public broker::Client {
 public:
  std::vector<std::string> bodies;
  std::vector<bool> redelivered;
  std::vector<std::uint64_t> tags;  // ack tags (0 for auto-ack deliveries)
  bool can_accept() const override { return true; }
  void deliver(const broker::Delivery& d) override {
    bodies.emplace_back(d.message.body());
    redelivered.push_back(d.redelivered);
    tags.push_back(d.ack_tag);
  }
  void on_released(Seq) override {}
};

inline config::JournalConfig journal_config(const std::string& dir) {
  config::JournalConfig c;
  c.directory = dir;
  c.sync_on_write = false;  // unit tests: durability is the journal's own tests' business
  return c;
}

inline broker::BrokerOptions broker_options(const std::string& prefix) {
  broker::BrokerOptions o;
  o.id_prefix = prefix;
  return o;
}

// The slave's process, as app::Runtime is to a real slave.
class TestHost final : public SlaveHost {
 public:
  TestHost(net::Loop& loop, std::optional<std::string> journal_dir) : loop_(loop), dir_(std::move(journal_dir)) {
    if (dir_) {
      auto j = store::Journal::open(loop_, journal_config(*dir_));
      REQUIRE_MESSAGE(j.has_value(), (j ? std::string() : j.error().message));
      journal_ = std::move(*j);
    }
    broker_ = std::make_unique<broker::Broker>(broker_options("slave"));
    if (journal_) REQUIRE(journal_->start(*broker_).has_value());
  }
  ~TestHost() { close(); }
  void close() {
    if (journal_) journal_->close();
  }

  broker::Broker& broker() override { return *broker_; }
  store::Journal* journal() override { return journal_.get(); }
  std::string journal_dir() const override { return dir_.value_or(""); }
  Result<void> discard_state(const std::optional<store::StoreIdentity>& identity) override {
    ++discards;
    if (journal_) {
      journal_->close();
      journal_.reset();
    }
    broker_.reset();
    if (dir_) {
      auto lock = store::DirLock::acquire(*dir_);
      if (!lock) return std::unexpected(lock.error());
      if (auto r = reset_store_directory(*dir_, *identity); !r) return r;
    }
    broker_ = std::make_unique<broker::Broker>(broker_options("slave"));
    return {};
  }
  Result<void> reopen_state() override {
    auto j = store::Journal::open(loop_, journal_config(*dir_));
    if (!j) return std::unexpected(j.error());
    journal_ = std::move(*j);
    auto r = journal_->start(*broker_);
    if (!r) return std::unexpected(r.error());
    return {};
  }
  void promote(const std::string& reason) override {
    promoted = true;
    promote_reason = reason;
  }
  void exit_process(int code, const std::string& reason) override {
    exit_code = code;
    exit_reason = reason;
  }
  // Only an old master rejoining salvages a forked tail (area 26 tests it end to end).
  Result<SalvagedTail> salvage_forked_tail(Seq fork) override {
    return make_error(1, "the unit tests' host does not salvage (fork at seq " + std::to_string(fork.value) + ")");
  }
  Result<CutTail> cut_forked_tail(Seq fork) override {
    return make_error(1, "the unit tests' host does not cut (fork at seq " + std::to_string(fork.value) + ")");
  }

  bool promoted = false;
  std::string promote_reason;
  std::optional<int> exit_code;
  std::string exit_reason;
  int discards = 0;

 private:
  net::Loop& loop_;
  std::optional<std::string> dir_;
  std::unique_ptr<store::Journal> journal_;
  std::unique_ptr<broker::Broker> broker_;
};

struct PairOptions {
  bool persistent = true;
  MasterOptions master;
  SlaveOptions slave;
  PairOptions() {
    master.broker_name = "m";
    master.host = "127.0.0.1";
    master.port = 0;
    master.heart_beat_ms = 50;
    master.link_timeout_ms = 400;
    slave.broker_name = "s";
    slave.master_host = "127.0.0.1";
    slave.master_uri = "tcp://127.0.0.1";
    slave.heart_beat_ms = 50;
    slave.link_timeout_ms = 400;
    slave.min_backoff_ms = 20;
    slave.max_backoff_ms = 100;
  }
};

// A master with its link open; slaves are added with add_slave().
struct Pair {
  PairOptions options;
  net::Loop loop;
  TempDir dirs;
  std::unique_ptr<store::Journal> journal;
  std::unique_ptr<broker::Broker> broker;
  std::unique_ptr<MasterLink> master;
  RecordingClient client;
  ConnId conn;
  bool in_sync_called = false;
  std::optional<std::string> fatal;
  struct Slave {
    std::unique_ptr<TestHost> host;
    std::unique_ptr<SlaveLink> link;
  };
  std::vector<Slave> slaves;

  explicit Pair(PairOptions o = {}) : options(std::move(o)) {
    if (options.persistent) {
      auto j = store::Journal::open(loop, journal_config(dirs.path() + "/master"));
      REQUIRE(j.has_value());
      journal = std::move(*j);
    }
    broker = std::make_unique<broker::Broker>(broker_options("master"));
    if (journal) REQUIRE(journal->start(*broker).has_value());
    conn = broker->attach(client, "client");
  }

  void open_master() {
    MasterLink::Callbacks cb;
    cb.on_in_sync = [this] { in_sync_called = true; };
    cb.on_fatal = [this](const std::string& why) { fatal = why; };
    master = std::make_unique<MasterLink>(loop, *broker, journal.get(), options.master, cb);
    REQUIRE(master->open().has_value());
  }

  // A slave of this master with its own data directory `name` (and options).
  Slave& add_slave(const std::string& name = "slave", std::optional<SlaveOptions> so = std::nullopt) {
    Slave s;
    s.host = std::make_unique<TestHost>(loop, options.persistent ? std::optional(dirs.path() + "/" + name) : std::nullopt);
    SlaveOptions o = so.value_or(options.slave);
    o.master_port = master ? master->port() : o.master_port;
    o.persistent = options.persistent;
    s.link = std::make_unique<SlaveLink>(loop, *s.host, o);
    s.link->start();
    slaves.push_back(std::move(s));
    return slaves.back();
  }

  ~Pair() {
    for (auto& s : slaves) s.link.reset();
    if (master) master->close();
    broker->detach(conn);
    if (journal) journal->close();
    for (auto& s : slaves) s.host->close();
    master.reset();
  }

  Seq send(std::string_view dest, std::string_view body, bool persistent = true) {
    broker::SendRequest r;
    r.destination = dest;
    r.body = body;
    r.persistent = persistent;
    auto s = broker->send(conn, r);
    REQUIRE(s.has_value());
    return *s;
  }
  bool in_sync(Slave& s) { return s.link->status().in_sync && master->in_sync(); }
  std::size_t depth(broker::Broker& b, std::string_view name) {
    for (const auto& st : b.stats())
      if (st.name == name) return st.depth + st.inflight;
    return 0;
  }
};

}  // namespace twinmq::replication::test
