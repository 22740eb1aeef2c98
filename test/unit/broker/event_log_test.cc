// EventLog numbering and sinks.
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

TEST_CASE("event log numbers events and hands them to every sink in order") {
  EventLog log;
  RecordingSink a, b;
  log.add_sink(&a);
  log.add_sink(&b);
  log.add_sink(&a);  // registering twice does not duplicate
  CHECK(log.append(DestinationAdded{"/queue/a"}) == Seq{1});
  CHECK(log.append(DestinationAdded{"/queue/b"}) == Seq{2});
  log.remove_sink(&b);
  CHECK(log.append(DestinationRemoved{"/queue/a"}) == Seq{3});
  CHECK(log.last() == Seq{3});
  REQUIRE(a.events.size() == 3);
  CHECK(b.events.size() == 2);
  CHECK(a.events[1].seq == Seq{2});
  CHECK(a.events[1].a == "/queue/b");
  log.reset_last(Seq{100});
  CHECK(log.append(DestinationAdded{"/queue/c"}) == Seq{101});
}
