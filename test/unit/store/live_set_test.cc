// The journal's index on its own: where messages live as events move them, per-file
// live counts (what compaction measures), and the plan a checkpoint is written from.
#include <doctest.h>

#include <algorithm>

#include "broker/broker.h"
#include "store/event_codec.h"
#include "store/live_set.h"

using namespace twinmq;
using namespace twinmq::store;

namespace {

broker::MessageRef msg(std::uint64_t id, std::string_view dest, bool persistent = true) {
  broker::MessageInit init;
  init.id = id;
  init.id_prefix = "p";
  init.destination = dest;
  init.body = "body";
  init.persistent = persistent;
  return broker::Message::create(init);
}

struct Index {
  LiveSet live;
  std::uint64_t seq = 0;
  void apply(const broker::Event& e, FileNo file = 1) {
    ++seq;
    live.apply(Seq{seq}, e, file, seq * 104, 100);  // records start 8-aligned
  }
};

}  // namespace

TEST_CASE("queue messages: enqueued, acked, dead-lettered, dropped with their queue") {
  Index x;
  x.apply(broker::DestinationAdded{"/queue/a"});
  x.apply(broker::MessageEnqueued{msg(1, "/queue/a")});
  x.apply(broker::MessageEnqueued{msg(2, "/queue/a")});
  x.apply(broker::MessageEnqueued{msg(3, "/queue/a", /*persistent=*/false)});
  CHECK(x.live.live_messages() == 2);
  CHECK(x.live.live_count_in(1) == 2);
  CHECK(x.live.locate(2)->offset == 312);
  x.apply(broker::MessageRemoved{"/queue/a", 1, true, broker::RemovalReason::acked});
  x.apply(broker::MessageDeadLettered{"/queue/a", 2, true, "/queue/DLQ"});
  CHECK(x.live.live_messages() == 1);
  CHECK(x.live.messages_per_location()["/queue/a"] == 0);
  CHECK(x.live.messages_per_location()["/queue/DLQ"] == 1);
  x.apply(broker::DestinationRemoved{"/queue/DLQ"});
  CHECK(x.live.live_messages() == 0);
  CHECK(x.live.live_count_in(1) == 0);
  CHECK(x.live.live_bytes() == 0);
  x.apply(broker::MessageRemoved{"/queue/a", 99, true, broker::RemovalReason::acked});
  CHECK(x.live.dangling_references() == 1);
}

TEST_CASE("topic messages live in every durable backlog that existed, until each lets go") {
  Index x;
  x.apply(broker::DurableSubscriptionAdded{"c", "one", "/topic/t"});
  x.apply(broker::DurableSubscriptionAdded{"c", "two", "/topic/t"});
  x.apply(broker::MessageEnqueued{msg(1, "/topic/t")});
  x.apply(broker::DurableSubscriptionAdded{"c", "late", "/topic/t"});
  x.apply(broker::MessageEnqueued{msg(2, "/topic/t")});
  auto per = x.live.messages_per_location();
  CHECK(per[broker::durable_key("c", "one")] == 2);
  CHECK(per[broker::durable_key("c", "late")] == 1);
  x.apply(broker::MessageRemoved{broker::durable_key("c", "one"), 1, true, broker::RemovalReason::acked});
  CHECK(x.live.live_messages() == 2);
  x.apply(broker::DurableSubscriptionRemoved{"c", "two"});  // its backlog goes with it
  CHECK(x.live.live_messages() == 1);                      // 1 was only left in "two"
  CHECK(x.live.locate(1) == std::nullopt);
  x.apply(broker::MessageEnqueued{msg(3, "/topic/nobody")});  // no durable subscription: not kept
  CHECK(x.live.live_messages() == 1);
}

TEST_CASE("a checkpoint plan replays the live state: locations, copies, removals, pinned moves") {
  Index x;
  x.apply(broker::DestinationAdded{"/queue/a"});                      // 1
  x.apply(broker::DurableSubscriptionAdded{"c", "one", "/topic/t"});  // 2
  x.apply(broker::DurableSubscriptionAdded{"c", "two", "/topic/t"});  // 3
  x.apply(broker::MessageEnqueued{msg(10, "/topic/t")});              // 4: in one, two
  x.apply(broker::MessageRemoved{broker::durable_key("c", "one"), 10, true, broker::RemovalReason::acked});  // 5
  x.apply(broker::MessageEnqueued{msg(11, "/topic/t")});              // 6: in one, two
  x.apply(broker::MessageDeadLettered{broker::durable_key("c", "two"), 11, true, "/queue/DLQ"});  // 7
  x.apply(broker::DurableSubscriptionRemoved{"c", "two"});            // 8: 10 dies, "two" stays pinned by 11's move
  x.apply(broker::MessageEnqueued{msg(12, "/queue/a")});              // 9
  x.apply(broker::MessageEnqueued{msg(13, "/queue/a")});              // 10
  x.apply(broker::MessageRemoved{"/queue/a", 12, true, broker::RemovalReason::acked});  // 11
  CHECK(x.live.live_messages() == 2);  // 11 (in one and the DLQ), 13

  EventEncoder enc;
  const CheckpointPlan plan = x.live.plan_checkpoint(Seq{11}, 14, enc);
  CHECK(plan.upto == Seq{11});
  std::vector<std::pair<std::uint64_t, std::string>> items;
  EventDecoder dec;
  for (const PlanItem& it : plan.items) {
    if (it.copy()) {
      items.emplace_back(it.seq.value, "copy " + std::to_string(it.b));
      continue;
    }
    RecordAt rec;
    REQUIRE(read_record(std::span(plan.framed).subspan(it.a, it.b - it.a), 0, rec) == RecordCheck::ok);
    auto ev = dec.decode(static_cast<RecordType>(rec.frame.type), rec.payload);
    REQUIRE(ev.has_value());
    items.emplace_back(it.seq.value, std::string(record_type_name(static_cast<RecordType>(rec.frame.type))));
  }
  std::sort(items.begin(), items.end());
  const std::vector<std::pair<std::uint64_t, std::string>> expected = {
      {1, "DestinationAdded"},          {2, "DurableSubscriptionAdded"}, {3, "DurableSubscriptionAdded"},
      {6, "copy 11"},                   {7, "MessageDeadLettered"},      {8, "DurableSubscriptionRemoved"},
      {10, "copy 13"}};
  CHECK(items == expected);

  // After the checkpoint is written, the messages point into it and old files are empty.
  const Relocation moved[] = {{11, 64}, {13, 200}};
  const FileNo obsolete[] = {1};
  CHECK(x.live.relocate(7, moved, obsolete) == 0);
  CHECK(x.live.locate(13)->file == 7);
  CHECK(x.live.locate(13)->offset == 200);
  CHECK(x.live.live_count_in(7) == 2);
  CHECK(x.live.live_count_in(1) == 0);
}
