// The link state machines, master and slave in one process over loopback TCP:
// attach, initial sync, in sync, streaming, receipts gated on Applied, and every way a
// link ends (master lost, planned stop, refusals, slave lost under each policy).
#include <doctest.h>

#include "store/verify.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::replication;
using namespace twinmq::replication::test;

TEST_CASE("a slave attaches, copies the existing state, gets in sync and mirrors every change") {
  Pair p;
  for (int i = 0; i < 20; ++i) p.send("/queue/before", "b" + std::to_string(i), i % 2 == 0);
  p.open_master();
  auto& s = p.add_slave();
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(s); }));
  CHECK(p.in_sync_called);
  CHECK(s.host->discards == 1);
  // Persistent and non-persistent messages both came over.
  CHECK(p.depth(s.host->broker(), "/queue/before") == 20);
  CHECK(s.host->journal()->identity().id == p.journal->identity().id);

  for (int i = 0; i < 50; ++i) p.send("/queue/after", "a" + std::to_string(i), i % 3 != 0);
  REQUIRE(run_until(p.loop, [&] {
    return s.host->broker().event_log().last() == p.broker->event_log().last() &&
           p.master->status().applied == p.broker->event_log().last();
  }));
  CHECK(p.depth(s.host->broker(), "/queue/after") == 50);
  // The master's gate passes nothing the slave has not acknowledged.
  CHECK(p.broker->reply_gate().released() <= p.master->status().applied);
  const LinkStatus st = p.master->status();
  CHECK(st.link_state == "streaming");
  CHECK(st.in_sync);
  const LinkStatus ss = s.link->status();
  CHECK(ss.role == Role::slave);
  CHECK(ss.link_state == "streaming");
}

TEST_CASE("the slave's journal holds the copy: checkpoint plus streamed events verify clean") {
  TempDir keep;
  std::string slave_dir;
  {
    Pair p;
    for (int i = 0; i < 10; ++i) p.send("/queue/q", "m" + std::to_string(i));
    p.open_master();
    auto& s = p.add_slave();
    REQUIRE(run_until(p.loop, [&] { return p.in_sync(s); }));
    for (int i = 0; i < 10; ++i) p.send("/queue/q", "n" + std::to_string(i));
    REQUIRE(run_until(p.loop, [&] { return p.master->status().applied == p.broker->event_log().last(); }));
    s.link.reset();
    s.host->close();
    slave_dir = p.dirs.path() + "/slave";
    auto report = store::verify_store(slave_dir);
    REQUIRE(report.has_value());
    CHECK(report->ok());
    CHECK(report->live_messages == 20);
    CHECK(report->checkpoint_seq == Seq{11});  // DestinationAdded + 10 messages before the slave came
  }
}

TEST_CASE("master lost: an in-sync slave takes over, bumps its epoch and flags messages redelivered") {
  Pair p;
  p.open_master();
  auto& s = p.add_slave();
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(s); }));
  for (int i = 0; i < 5; ++i) p.send("/queue/q", std::to_string(i));
  REQUIRE(run_until(p.loop, [&] { return p.master->status().applied == p.broker->event_log().last(); }));
  const std::uint64_t epoch = s.host->journal()->epoch();
  p.master->close();  // the master vanishes (its sockets close)
  REQUIRE(run_until(p.loop, [&] { return s.host->promoted; }));
  CHECK(s.link->role() == Role::promoted);
  CHECK(s.host->promote_reason.find("lost") != std::string::npos);
  CHECK(s.host->journal()->epoch() == epoch + 1);
  RecordingClient c;
  broker::Broker& b = s.host->broker();
  ConnId id = b.attach(c, "x");
  broker::SubscribeRequest r;
  r.id = "1";
  r.destination = "/queue/q";
  REQUIRE(b.subscribe(id, r).has_value());
  REQUIRE(c.bodies.size() == 5);
  for (bool red : c.redelivered) CHECK(red);
  b.detach(id);
}

TEST_CASE("a planned master stop (Shutdown) promotes at once; with shutdownOnMasterFailure the slave exits 3") {
  for (bool exit_instead : {false, true}) {
    CAPTURE(exit_instead);
    PairOptions o;
    o.slave.shutdown_on_master_failure = exit_instead;
    Pair p(o);
    p.open_master();
    auto& s = p.add_slave();
    REQUIRE(run_until(p.loop, [&] { return p.in_sync(s); }));
    p.master->shutdown("SIGTERM");
    REQUIRE(run_until(p.loop, [&] { return s.host->promoted || s.host->exit_code.has_value(); }, 2000));
    if (exit_instead) {
      CHECK_FALSE(s.host->promoted);
      CHECK(s.host->exit_code == kExitMasterFailed);
      CHECK(s.link->role() == Role::slave);
    } else {
      CHECK(s.host->promote_reason.find("on purpose") != std::string::npos);
    }
  }
}

TEST_CASE("a slave that cannot reach its master keeps trying and never takes over") {
  PairOptions o;
  Pair p(o);
  // No master listening: a port nobody listens on (bind one, close it).
  auto l = net::TcpListener::listen(p.loop, "127.0.0.1", 0, [](net::TcpListener&) {});
  REQUIRE(l.has_value());
  SlaveOptions so = o.slave;
  so.master_port = (*l)->port();
  l->reset();
  auto& s = p.add_slave("lonely", so);
  run_for(p.loop, 600);
  CHECK_FALSE(s.host->promoted);
  CHECK_FALSE(s.host->exit_code.has_value());
  const LinkStatus st = s.link->status();
  CHECK(st.link_state == "awaiting_connection");
  CHECK(st.note.find("cannot connect") != std::string::npos);
  CHECK_FALSE(st.in_sync);
}

TEST_CASE("a second slave is refused while the first is attached, and keeps retrying") {
  Pair p;
  p.open_master();
  auto& first = p.add_slave("first");
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(first); }));
  auto& second = p.add_slave("second");
  run_for(p.loop, 500);
  CHECK_FALSE(second.host->exit_code.has_value());
  CHECK(second.link->status().link_state == "awaiting_connection");
  CHECK(second.link->status().note.find("another slave") != std::string::npos);
  CHECK(p.in_sync(p.slaves[0]));
}

namespace {
auth::SecurityOptions one_user(std::string name, std::string password, std::string groups = "") {
  auth::SecurityOptions o;
  o.users.push_back(auth::UserAccount{std::move(name), *auth::StoredPassword::parse(std::move(password)),
                                      auth::split_groups(groups)});
  return o;
}
}  // namespace

TEST_CASE("bad credentials: the slave exits with code 5 and the reason") {
  auth::Security security(one_user("replica", "right"));
  PairOptions o;
  o.master.security = &security;
  o.slave.user_name = "replica";
  o.slave.password = "wrong";
  Pair p(o);
  p.open_master();
  auto& s = p.add_slave();
  REQUIRE(run_until(p.loop, [&] { return s.host->exit_code.has_value(); }, 3000));
  CHECK(*s.host->exit_code == kExitRejected);
  CHECK(s.host->exit_reason.find("does not accept user 'replica'") != std::string::npos);
  CHECK(s.host->discards == 0);  // its store was left alone
}

TEST_CASE("a hashed password is checked on a worker and the slave attaches") {
  auth::SecurityOptions so = one_user("replica", *auth::hash_password("right"), "replicas");
  so.replication_group = "replicas";
  auth::Security security(std::move(so));
  PairOptions o;
  o.master.security = &security;
  o.slave.user_name = "replica";
  o.slave.password = "right";
  Pair p(o);
  p.open_master();
  auto& s = p.add_slave();
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(s); }, 5000));
}

TEST_CASE("a valid user outside replicationGroup is refused: exit code 5, and the group is named") {
  auth::SecurityOptions so = one_user("system", *auth::hash_password("manager"), "admins");
  so.replication_group = "replicas";
  auth::Security security(std::move(so));
  PairOptions o;
  o.master.security = &security;
  o.slave.user_name = "system";
  o.slave.password = "manager";
  Pair p(o);
  p.open_master();
  auto& s = p.add_slave();
  REQUIRE(run_until(p.loop, [&] { return s.host->exit_code.has_value(); }, 5000));
  CHECK(*s.host->exit_code == kExitRejected);
  CHECK(s.host->exit_reason.find("group 'replicas'") != std::string::npos);
}

TEST_CASE("a slave whose store belongs to another broker is refused; its data is left alone") {
  Pair p;
  p.open_master();
  {
    // Give the slave's directory a store of its own with some history.
    net::Loop other;
    auto j = store::Journal::open(other, journal_config(p.dirs.path() + "/slave"));
    REQUIRE(j.has_value());
    broker::Broker b(broker_options("x"));
    REQUIRE((*j)->start(b).has_value());
    RecordingClient c;
    ConnId id = b.attach(c, "");
    broker::SendRequest r;
    r.destination = "/queue/mine";
    r.body = "keep me";
    r.persistent = true;
    REQUIRE(b.send(id, r).has_value());
    b.detach(id);
    (*j)->close();
  }
  auto& s = p.add_slave("slave");
  REQUIRE(run_until(p.loop, [&] { return s.host->exit_code.has_value(); }, 3000));
  CHECK(*s.host->exit_code == kExitRejected);
  CHECK(s.host->exit_reason.find("another broker or pair") != std::string::npos);
  CHECK(s.host->discards == 0);
  CHECK(p.depth(s.host->broker(), "/queue/mine") == 1);
}

TEST_CASE("slave lost, minimumReplicas=0: held receipts are released and the master serves alone") {
  Pair p;
  p.open_master();
  auto& s = p.add_slave();
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(s); }));
  s.link.reset();  // the slave goes away
  const Seq seq = p.send("/queue/q", "x");
  REQUIRE(run_until(p.loop, [&] { return p.broker->reply_gate().released() >= seq; }, 3000));
  CHECK(p.master->status().link_state == "awaiting_slave");
  CHECK(p.master->status().note.find("serving alone") != std::string::npos);
  CHECK_FALSE(p.fatal.has_value());
}

TEST_CASE("slave lost, minimumReplicas=1: receipts for persistent work stay held until a slave is back in sync") {
  PairOptions o;
  o.master.minimum_replicas = 1;
  Pair p(o);
  p.open_master();
  const Seq early = p.send("/queue/q", "before any slave");
  run_for(p.loop, 100);
  CHECK(p.broker->reply_gate().released() < early);
  auto& s = p.add_slave("one");
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(s); }));
  REQUIRE(run_until(p.loop, [&] { return p.broker->reply_gate().released() >= early; }));
  p.slaves[0].link.reset();
  const Seq held = p.send("/queue/q", "while alone");
  run_for(p.loop, 800);
  CHECK(p.broker->reply_gate().released() < held);
  CHECK(p.master->status().note.find("minimumReplicas=1") != std::string::npos);
  auto& again = p.add_slave("two");
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(again) && p.broker->reply_gate().released() >= held; }));
  CHECK(p.depth(again.host->broker(), "/queue/q") == 2);
}

TEST_CASE("slave lost with shutdownOnSlaveFailure: the master is told to stop and releases nothing") {
  PairOptions o;
  o.master.shutdown_on_slave_failure = true;
  Pair p(o);
  p.open_master();
  auto& s = p.add_slave();
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(s); }));
  s.link.reset();
  REQUIRE(run_until(p.loop, [&] { return p.fatal.has_value(); }, 3000));
  const Seq seq = p.send("/queue/q", "never confirmed");
  run_for(p.loop, 100);
  CHECK(p.broker->reply_gate().released() < seq);
}

TEST_CASE("without persistence on either side the pair mirrors in memory") {
  PairOptions o;
  o.persistent = false;
  Pair p(o);
  for (int i = 0; i < 7; ++i) p.send("/queue/q", "m", false);
  p.open_master();
  auto& s = p.add_slave();
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(s); }));
  for (int i = 0; i < 3; ++i) p.send("/queue/q", "n", false);
  REQUIRE(run_until(p.loop, [&] { return p.depth(s.host->broker(), "/queue/q") == 10; }));
  CHECK(s.host->journal() == nullptr);
}

TEST_CASE("the slave journals what it receives: persistent events as sent, non-persistent ones not at all, a commit's persistent part only") {
  std::string slave_dir;
  {
    Pair p;
    p.open_master();
    auto& s = p.add_slave();
    REQUIRE(run_until(p.loop, [&] { return p.in_sync(s); }));
    for (int i = 0; i < 5; ++i) {
      p.send("/queue/q", "p" + std::to_string(i));
      p.send("/queue/q", "n" + std::to_string(i), /*persistent=*/false);
    }
    REQUIRE(p.broker->begin(p.conn, "tx").has_value());
    broker::SendRequest r;
    r.destination = "/queue/q";
    r.transaction = "tx";
    r.body = "tx-persistent";
    r.persistent = true;
    REQUIRE(p.broker->send(p.conn, r).has_value());
    r.body = "tx-non-persistent";
    r.persistent = false;
    REQUIRE(p.broker->send(p.conn, r).has_value());
    REQUIRE(p.broker->commit(p.conn, "tx").has_value());
    REQUIRE(run_until(p.loop, [&] { return p.master->status().applied == p.broker->event_log().last(); }));
    s.link.reset();
    s.host->close();
    slave_dir = p.dirs.path() + "/slave";
    auto report = store::verify_store(slave_dir);
    REQUIRE(report.has_value());
    CHECK(report->ok());
    CHECK(report->live_messages == 6);  // p0..p4 and tx-persistent
  }
}
