#include "store/forked_tail.h"

#include <algorithm>
#include <filesystem>
#include <unordered_map>
#include <variant>

#include "store/dir_lock.h"
#include "store/errors.h"
#include "store/history.h"
#include "store/live_set.h"
#include "store/recovery.h"

namespace twinmq::store {

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
// C++20 deduces this for an aggregate; clang 16 (the fuzzers' compiler) does not yet.
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// Follows the whole replay in the store's live-message index (for "still live at the
// end"), and looks closer at every event after the fork.
class TailCollector final : public ReplayTarget {
 public:
  TailCollector(ForkedTail& out, bool keep_messages) : out_(out), keep_(keep_messages) {}

  void replay(Seq seq, const broker::Event& e, FileNo file, std::uint64_t offset,
              std::uint32_t frame_bytes) override {
    live_.apply(seq, e, file, offset, frame_bytes);
    if (seq <= out_.fork) return;
    ++out_.events;
    std::visit(Overloaded{
                   [&](const broker::MessageEnqueued& m) { enqueued(seq, 0, m.message); },
                   [&](const broker::MessageRemoved& r) {
                     removed(r.queue, r.message_id, r.reason == broker::RemovalReason::acked);
                   },
                   [&](const broker::MessageDeadLettered& d) { dead_lettered(d.queue, d.message_id, d.dlq); },
                   [&](const broker::TransactionCommitted& t) {
                     ++out_.transactions;
                     std::uint32_t member = 0;
                     for (const broker::MessageRef& m : t.sends) enqueued(seq, member++, m);
                     for (const broker::AckedMessage& a : t.acks) removed(a.queue, a.message_id, true);
                   },
                   [&](const broker::DestinationAdded& d) { out_.destinations_added.emplace_back(d.name); },
                   [&](const broker::DestinationRemoved& d) { out_.destinations_removed.emplace_back(d.name); },
                   [&](const broker::DurableSubscriptionAdded& d) {
                     out_.durables_added.push_back(
                         DurableTail{std::string(d.client_id), std::string(d.name), std::string(d.topic)});
                   },
                   [&](const broker::DurableSubscriptionRemoved& d) {
                     out_.durables_removed.push_back(DurableTail{std::string(d.client_id), std::string(d.name), {}});
                   },
                   // Duplicate-detection ids are no message of the tail: a salvaged message
                   // keeps its _AMQ_DUPL_ID header, so replaying it where it already is drops it.
                   [&](const broker::DuplicateIdsRecorded&) {},
                   [&](const broker::Handover&) {},
               },
               e);
  }

  // After the replay: which tail messages are still live, in enqueue order.
  void finish() {
    for (auto& [id, m] : tail_) {
      if (!live_.locate(id)) continue;
      DestinationTail& d = out_.destinations[m.destination];
      ++d.live;
      d.live_bytes += m.bytes;
      ++out_.live;
      out_.live_bytes += m.bytes;
      if (!keep_) continue;
      // A queue message moved to a dead-letter queue sits there; a topic message may
      // sit in several durable backlogs, of which only some moved: it goes back to its topic.
      const bool topic = m.destination.starts_with("/topic/");
      out_.live_messages.push_back(TailMessage{m.seq, m.member, std::move(m.ref),
                                               (!m.dlq.empty() && !topic) ? m.dlq : m.destination});
    }
    std::sort(out_.live_messages.begin(), out_.live_messages.end(), [](const TailMessage& a, const TailMessage& b) {
      return a.seq != b.seq ? a.seq < b.seq : a.member < b.member;
    });
  }

 private:
  struct Enqueued {
    Seq seq;
    std::uint32_t member = 0;
    std::uint64_t bytes = 0;
    std::string destination;
    std::string dlq;  // the last dead-letter queue it was moved to, if any
    broker::MessageRef ref;  // only with keep_
  };

  void enqueued(Seq seq, std::uint32_t member, const broker::MessageRef& m) {
    const std::string destination(m->destination());
    DestinationTail& d = out_.destinations[destination];
    if (d.enqueued == 0) d.first_seq = seq;
    ++d.enqueued;
    d.last_seq = seq;
    d.bytes += m->body().size();
    ++out_.messages;
    tail_[m->id()] = Enqueued{seq, member, m->body().size(), destination, {}, keep_ ? m : broker::MessageRef()};
  }

  void removed(std::string_view queue, std::uint64_t id, bool acked) {
    if (tail_.contains(id)) return;  // enqueued in the tail too: counted by "live" at the end
    DestinationTail& d = out_.destinations[std::string(queue)];
    ++d.removed;
    if (acked) ++d.acked;
  }

  void dead_lettered(std::string_view queue, std::uint64_t id, std::string_view dlq) {
    if (auto it = tail_.find(id); it != tail_.end()) {
      it->second.dlq = dlq;
      return;
    }
    ++out_.destinations[std::string(queue)].dead_lettered;
  }

  ForkedTail& out_;
  const bool keep_;
  LiveSet live_;
  std::unordered_map<std::uint64_t, Enqueued> tail_;
};

}  // namespace

Result<ForkedTail> read_forked_tail(const std::string& given, Seq fork, bool keep_messages) {
  auto store = open_stopped_store(given);
  if (!store) return std::unexpected(store.error());
  const std::string& dir = store->dir;

  ForkedTail tail;
  tail.dir = dir;
  tail.identity = store->identity;
  tail.fork = fork;
  TailCollector collector(tail, keep_messages);
  SegmentSet files(dir);
  auto rec = recover_store(dir, store->identity, collector, files, RecoveryMode::inspect);
  if (!rec) return std::unexpected(rec.error());
  if (!rec->problems.empty())
    return make_error(Errc::corrupt, "the store in " + dir + " is damaged: " + rec->problems.front());
  tail.checkpoint_seq = rec->checkpoint_seq;
  tail.last_seq = rec->last_seq;
  collector.finish();
  return tail;
}

}  // namespace twinmq::store
