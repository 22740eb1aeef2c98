// ReplyGate: minimum over sources, waiting connections, Broker::notify_released.
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

TEST_CASE("released() is the log's last with no source, else the minimum") {
  EventLog log;
  ReplyGate gate(log);
  log.append(DestinationAdded{"/queue/a"});
  log.append(DestinationAdded{"/queue/b"});
  CHECK(gate.released() == Seq{2});
  auto journal = gate.add_source(Seq{0});
  auto slave = gate.add_source(Seq{1});
  CHECK(gate.released() == Seq{0});
  CHECK(gate.advance(journal, Seq{2}));   // min 0 -> 1
  CHECK(gate.released() == Seq{1});
  CHECK_FALSE(gate.advance(journal, Seq{1}));  // never lowers
  CHECK_FALSE(gate.advance(slave, Seq{1}));    // no change
  CHECK(gate.advance(slave, Seq{2}));
  CHECK(gate.released() == Seq{2});
  log.append(DestinationAdded{"/queue/c"});
  CHECK(gate.released() == Seq{2});
  gate.remove_source(slave);  // the slave is gone: only the journal gates
  CHECK(gate.advance(journal, Seq{3}));
  CHECK(gate.released() == Seq{3});
  gate.remove_source(journal);
  CHECK(gate.released() == log.last());
}

TEST_CASE("waiting connections are taken once") {
  EventLog log;
  ReplyGate gate(log);
  gate.wait(ConnId{1});
  gate.wait(ConnId{2});
  gate.wait(ConnId{1});
  gate.forget(ConnId{2});
  auto w = gate.take_waiting();
  CHECK(w == std::vector<ConnId>{ConnId{1}});
  CHECK(gate.take_waiting().empty());
}

TEST_CASE_FIXTURE(Fixture, "notify_released tells each waiting attached client") {
  RecordingClient a, b, c;
  ConnId x = attach(a), y = attach(b), z = attach(c);
  ReplyGate& gate = broker->reply_gate();
  auto src = gate.add_source(Seq{0});
  auto seq = send(x, "/queue/q", "m");
  REQUIRE(seq.has_value());
  CHECK(gate.released() < *seq);
  gate.wait(x);
  gate.wait(z);
  broker->detach(z);
  CHECK(gate.advance(src, *seq));
  broker->notify_released();
  CHECK(a.released == std::vector<Seq>{*seq});
  CHECK(b.released.empty());
  CHECK(c.released.empty());
  broker->notify_released();  // nobody waits any more
  CHECK(a.released.size() == 1);
  (void)y;
}
