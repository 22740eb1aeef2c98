// broker/paging.cc — paging ready messages out to the journal and back in (the design
// is in broker/page_store.h).
//
// Page-out never emits an event: which messages are in memory is not state, so the
// journal, the slave and recovery know nothing of it (a slave pages on its own, by its
// own memory). A page-in answer may find its entries gone (acked on the slave's side,
// purged, expired, the queue removed) or already resident: those messages are dropped.
#include <spdlog/spdlog.h>

#include "base/printable.h"
#include "broker/broker_impl.h"
#include "broker/page_store.h"

namespace twinmq::broker {

namespace {

// Bytes above `percent` of `limit` (0 if below, or no limit).
std::uint64_t above(std::uint64_t used, std::uint64_t limit, std::uint64_t percent) {
  if (limit == 0) return 0;
  const std::uint64_t mark = limit / 100 * percent;
  return used > mark ? used - mark : 0;
}

}  // namespace

void Broker::set_page_store(PageStore* store) { impl_->page_store = store; }

void Broker::page_out() {
  impl_->page_out();
  impl_->notify_room();
}

void Broker::Impl::page_out() {
  if (page_store == nullptr) return;
  // The broker's limit: from every queue, the lowest priorities' newest first.
  const bool total_high = above(memory.used, memory.limit, kPageOutHighPercent) != 0;
  // Called after every journal batch: nothing to look at unless some limit is near.
  if (!total_high && !queue_limits) return;
  auto one = [&](Queue& q) {
    std::uint64_t want = above(q.memory.used(), q.memory.limit(), kPageOutHighPercent) != 0
                             ? above(q.memory.used(), q.memory.limit(), kPageOutLowPercent)
                             : 0;
    if (total_high) want = std::max(want, above(memory.used, memory.limit, kPageOutLowPercent));
    if (want != 0) q.page_out(*page_store, want);
  };
  for (auto& [name, q] : queues) one(*q);
  for (auto& [key, q] : durables) one(*q);
}

void Broker::Impl::request_page_in(Queue& q, bool read_ahead) {
  if (page_store == nullptr || q.paging_in || q.page_in_failed || q.paged() == 0) return;
  page_ids.clear();
  const std::size_t resident_ahead = q.collect_paged(kPageInBatch, kPageInScan, page_ids);
  // Read-ahead keeps up to two batches in memory ahead of the consumers: one being
  // delivered while the next is read.
  if (page_ids.empty() || (read_ahead && resident_ahead >= 2 * kPageInBatch)) return;
  q.paging_in = true;
  page_store->page_in(q.name(), page_ids);
}

void Broker::read_ahead_paged(std::uint64_t bytes_per_message) {
  Impl& im = *impl_;
  if (im.page_store == nullptr) return;
  // A queue's read-ahead chains until two batches are in memory (paged_in), with or
  // without consumers, and page_out never takes back what sits before a paged entry.
  // So the heads are read only while their estimated size fits under the low mark:
  // with many queues the later ones are read when their consumer comes.
  const std::uint64_t low = im.memory.limit / 100 * kPageOutLowPercent;
  std::uint64_t budget = im.memory.limit == 0 ? ~std::uint64_t{0} : low > im.memory.used ? low - im.memory.used : 0;
  auto one = [&](Queue& q) {
    if (q.paged() == 0) return;
    const std::uint64_t cost = std::min<std::uint64_t>(q.paged(), 2 * kPageInBatch) * (bytes_per_message + kIndexEntryBytes);
    if (cost > budget) return;
    budget -= cost;
    im.request_page_in(q, true);
  };
  for (auto& [name, q] : im.queues) one(*q);
  for (auto& [key, q] : im.durables) one(*q);
}

void Broker::paged_in(std::string_view queue, std::span<const std::uint64_t> ids, std::span<MessageRef> messages) {
  Impl& im = *impl_;
  Queue* q = im.find_store(queue);
  if (q == nullptr) return;  // removed meanwhile: the messages go with the answer
  q->paging_in = false;
  const bool durable = q->durable != nullptr;
  std::size_t failed = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    MessageRef& m = messages[i];
    if (!m) {
      ++failed;
      continue;
    }
    // A dead-lettered message keeps its id and its record, which names the queue it was
    // sent to: it is readdressed again, as when it was moved (apply.cc).
    if (!durable && m->destination() != q->name())
      m = readdressed(*m, q->name(), m->id(), id_prefix_of(*m));
    q->fill_paged(std::move(m));
  }
  if (failed != 0) {
    spdlog::warn("paging: {} of {} message(s) of '{}' could not be read back yet (first id {}); asking again "
                 "at the next tick",
                 failed, ids.size(), shown(q->name()), ids.empty() ? 0 : ids.front());
    q->page_in_failed = true;
    im.page_failed.push_back(q->name());
  } else {
    im.request_page_in(*q, true);
  }
  im.mark_dirty(*q);
  im.run_dispatch();
}

void Broker::Impl::retry_failed_page_ins() {
  if (page_failed.empty()) return;
  std::vector<std::string> names;
  names.swap(page_failed);
  for (const std::string& name : names) {
    Queue* q = find_store(name);
    if (q == nullptr) continue;
    q->page_in_failed = false;
    mark_dirty(*q);
  }
}

}  // namespace twinmq::broker
