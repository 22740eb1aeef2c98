// Consumed before written on a pair (README "Consumed before written"): what the slave
// gets for a cancelled SEND, how a catch-up crosses the gaps, a slave whose state ends
// past its last record on cancelled SENDs (a catch-up from there, handshake.h "CANCELLED
// TAIL"), and what a promoted slave holds when the master is lost right after the
// consumer's acknowledgement.
#include <doctest.h>

#include "store/verify.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::replication;
using namespace twinmq::replication::test;

namespace {

void subscribe(broker::Broker& b, ConnId conn, std::string_view id, std::string_view dest,
               broker::AckMode ack = broker::AckMode::auto_ack) {
  broker::SubscribeRequest r;
  r.id = id;
  r.destination = dest;
  r.ack = ack;
  REQUIRE(b.subscribe(conn, r).has_value());
}

bool caught_up(Pair& p) { return p.master->status().applied == p.broker->event_log().last(); }

// Closes the slave and reads its store back: clean, holding `live` messages.
void check_slave_store(Pair& p, Pair::Slave& s, std::uint64_t live) {
  const std::string dir = p.dirs.path() + "/slave";
  s.link.reset();
  s.host->close();
  auto report = store::verify_store(dir);
  REQUIRE(report.has_value());
  CHECK(report->ok());
  CHECK(report->live_messages == live);
}

}  // namespace

TEST_CASE("cancel on a pair: the slave gets a cancelled record, keeps numbering and ids, writes nothing for it") {
  Pair p;
  p.open_master();
  auto& s = p.add_slave();
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(s); }));
  subscribe(*p.broker, p.conn, "c", "/queue/c");
  for (int i = 0; i < 10; ++i) {
    p.send("/queue/c", "consumed" + std::to_string(i));
    if (i % 2 == 0) p.send("/queue/kept", "kept" + std::to_string(i));
    if (i % 3 == 0) REQUIRE(run_until(p.loop, [&] { return caught_up(p); }));
  }
  REQUIRE(run_until(p.loop, [&] { return caught_up(p); }));
  CHECK(p.client.bodies.size() == 10);
  CHECK(p.journal->stats().cancelled == 10);
  store::Journal& sj = *s.host->journal();
  CHECK(sj.stats().cancelled == 10);
  CHECK(sj.stats().message_records == 5);
  CHECK(sj.last_seq() == p.journal->last_seq());
  CHECK(s.host->broker().event_log().last() == p.broker->event_log().last());
  CHECK(p.depth(s.host->broker(), "/queue/kept") == 5);
  CHECK(p.depth(s.host->broker(), "/queue/c") == 0);
  // A promoted slave numbers messages after the consumed ones.
  CHECK(s.host->broker().next_message_id() >= p.broker->next_message_id());
  CHECK(p.broker->reply_gate().released() == p.broker->event_log().last());
}

TEST_CASE("cancel on a pair: a slave that was away catches up across cancelled gaps, in the middle and at the end") {
  Pair p;
  p.open_master();
  auto* s = &p.add_slave();
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(*s); }));
  subscribe(*p.broker, p.conn, "c", "/queue/c");
  p.send("/queue/c", "x");
  p.send("/queue/kept", "k0");  // the slave's last record: where a catch-up can start
  REQUIRE(run_until(p.loop, [&] { return caught_up(p); }));
  s->link.reset();
  s->host->close();
  p.slaves.clear();
  REQUIRE(run_until(p.loop, [&] { return !p.master->in_sync(); }));

  for (int i = 0; i < 5; ++i) {
    p.send("/queue/c", "while away " + std::to_string(i));
    p.send("/queue/kept", "k" + std::to_string(i + 1));
    REQUIRE(run_until(p.loop, [&] { return p.journal->last_durable_seq() == p.journal->last_seq(); }));
  }
  for (int i = 0; i < 3; ++i) p.send("/queue/c", "last " + std::to_string(i));  // a gap at the end
  REQUIRE(run_until(p.loop, [&] { return p.journal->last_durable_seq() == p.journal->last_seq(); }));
  CHECK(p.journal->stats().cancelled == 9);

  s = &p.add_slave("slave");
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(*s); }));
  CHECK(s->host->discards == 0);  // a catch-up, not a copy
  CHECK(s->host->broker().event_log().last() == p.broker->event_log().last());
  CHECK(p.depth(s->host->broker(), "/queue/kept") == 6);
  CHECK(p.depth(s->host->broker(), "/queue/c") == 0);
  p.send("/queue/kept", "k6");
  REQUIRE(run_until(p.loop, [&] { return caught_up(p); }));
  CHECK(p.depth(s->host->broker(), "/queue/kept") == 7);
  check_slave_store(p, *s, 7);
}

TEST_CASE("cancel on a pair: master lost after the acknowledgements; consumed messages stay gone, an unacknowledged one comes back") {
  Pair p;
  p.open_master();
  auto& s = p.add_slave();
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(s); }));
  subscribe(*p.broker, p.conn, "auto", "/queue/auto");
  subscribe(*p.broker, p.conn, "held", "/queue/held", broker::AckMode::client_individual);
  for (int i = 0; i < 3; ++i) p.send("/queue/auto", "auto" + std::to_string(i));
  p.send("/queue/held", "acked");
  p.send("/queue/held", "delivered, not acked");
  REQUIRE(p.client.tags.size() == 5);
  broker::AckRequest ack;
  const std::string tag = std::to_string(p.client.tags[3]);
  ack.ack_id = tag;
  REQUIRE(p.broker->ack(p.conn, ack).has_value());
  REQUIRE(run_until(p.loop, [&] { return caught_up(p); }));
  CHECK(p.journal->stats().cancelled == 3);

  p.master->close();  // the master vanishes right after
  REQUIRE(run_until(p.loop, [&] { return s.host->promoted; }));
  broker::Broker& b = s.host->broker();
  RecordingClient c;
  const ConnId id = b.attach(c, "x");
  subscribe(b, id, "1", "/queue/auto");
  CHECK(c.bodies.empty());
  subscribe(b, id, "2", "/queue/held");
  REQUIRE(c.bodies.size() == 1);
  CHECK(c.bodies[0] == "delivered, not acked");
  CHECK(c.redelivered[0]);
  b.detach(id);
}

namespace {

// The slave's state went on past its last journaled record by `tail` (cancelled SENDs,
// and with `non_persistent` one non-persistent SEND the consumer took, unjournaled on
// both sides); it then restarts (its journal's close accounts for the tail's seqs) while
// the master journals one more message. Returns the slave's discards on re-attaching
// (0: a catch-up).
int reattach_after_tail(bool non_persistent) {
  Pair p;
  p.open_master();
  auto* s = &p.add_slave();
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(*s); }));
  subscribe(*p.broker, p.conn, "c", "/queue/c");
  p.send("/queue/kept", "k0");  // the slave's last record
  const Seq j = p.journal->last_seq();
  p.send("/queue/c", "a");
  if (non_persistent) p.send("/queue/c", "np", false);
  p.send("/queue/c", "b");
  REQUIRE(run_until(p.loop, [&] { return caught_up(p); }));
  CHECK(p.journal->stats().cancelled == 2);
  const Seq state = s->host->broker().event_log().last();
  CHECK(state > j);
  s->link.reset();
  s->host->close();
  p.slaves.clear();
  REQUIRE(run_until(p.loop, [&] { return !p.master->in_sync(); }));
  p.send("/queue/kept", "k1");
  REQUIRE(run_until(p.loop, [&] { return p.journal->last_durable_seq() == p.journal->last_seq(); }));

  s = &p.add_slave("slave");
  REQUIRE(run_until(p.loop, [&] { return p.in_sync(*s); }));
  CHECK(s->host->broker().event_log().last() == p.broker->event_log().last());
  CHECK(p.depth(s->host->broker(), "/queue/kept") == 2);
  CHECK(p.depth(s->host->broker(), "/queue/c") == 0);
  const int discards = s->host->discards;
  check_slave_store(p, *s, 2);
  return discards;
}

}  // namespace

TEST_CASE("cancel on a pair: a slave whose last events were cancelled SENDs catches up from its state, past its last record") {
  CHECK(reattach_after_tail(false) == 0);
}

TEST_CASE("cancel on a pair: a non-persistent event among the slave's last events means the full copy") {
  CHECK(reattach_after_tail(true) == 1);
}
