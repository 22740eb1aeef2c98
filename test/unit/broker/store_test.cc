// Ring and Queue store internals, checked against a simple model with random
// operations (the sorted lanes, tombstones, compaction and the sweep cursor are where
// an off-by-one would hide).
#include <doctest.h>

#include <map>
#include <random>
#include <set>

#include "broker/queue.h"
#include "broker/ring.h"

using namespace twinmq::broker;

TEST_CASE("ring: push/pop at both ends, insert in the middle, erase_if keeps order") {
  Ring<int> r;
  for (int i = 0; i < 20; ++i) r.push_back(i);
  r.push_front(-1);
  CHECK(r.size() == 21);
  CHECK(r.front() == -1);
  CHECK(r.back() == 19);
  r.insert(3, 100);   // near the front: shifts the front side
  r.insert(18, 200);  // near the back: shifts the back side
  CHECK(r[3] == 100);
  CHECK(r[18] == 200);
  CHECK(r[4] == 2);
  std::size_t cursor_hits = 0;
  const std::size_t removed =
      r.erase_if([](int v) { return v >= 100 || v % 2 != 0; }, [&](std::size_t, std::size_t) { ++cursor_hits; });
  CHECK(removed == 13);  // -1, ten odd values, 100 and 200
  CHECK(cursor_hits == r.size());
  for (std::size_t i = 0; i < r.size(); ++i) CHECK(r[i] == static_cast<int>(2 * i));
  CHECK(r.lower_bound(7, [](int v) { return v; }) == 4);
  while (!r.empty()) r.pop_front();
  r.push_back(1);
  CHECK(r.front() == 1);
}

namespace {

MessageRef msg(std::uint64_t id, int priority, std::int64_t expires) {
  MessageInit init;
  init.id = id;
  init.priority = static_cast<std::uint8_t>(priority);
  init.expires_ms = expires;
  return Message::create(init);
}

// Model: ready messages ordered by (priority desc, id asc).
using Key = std::pair<int, std::uint64_t>;  // (-priority, id)

}  // namespace

TEST_CASE("queue store matches a model under random pushes, takes, removals and returns") {
  std::mt19937_64 rng(12345);
  Queue q("/queue/model", DestinationPolicy{});
  std::map<Key, std::int64_t> model;  // -> expiry
  std::map<std::uint64_t, QueueEntry> held;
  std::uint64_t next_id = 1;
  std::int64_t now = 1000;
  for (int step = 0; step < 40000; ++step) {
    const int op = static_cast<int>(rng() % 100);
    if (op < 40) {
      const int p = static_cast<int>(rng() % 3) * 4;  // priorities 0, 4, 8
      const std::int64_t exp = rng() % 4 == 0 ? now + static_cast<std::int64_t>(rng() % 50) : 0;
      const std::uint64_t id = next_id++;
      q.push(QueueEntry{msg(id, p, exp), id, 0, false});
      model.emplace(Key{-p, id}, exp);
    } else if (op < 60) {
      if (model.empty()) {
        CHECK(q.front() == nullptr);
        continue;
      }
      QueueEntry e = q.take_front();
      auto first = model.begin();
      REQUIRE(e.id == first->first.second);
      model.erase(first);
      held.emplace(e.id, std::move(e));
    } else if (op < 72) {
      if (held.empty()) continue;
      auto it = held.begin();
      std::advance(it, static_cast<long>(rng() % held.size()));
      const int p = it->second.msg->priority();
      model.emplace(Key{-p, it->first}, it->second.msg->expires_ms());
      q.give_back(std::move(it->second));
      held.erase(it);
    } else if (op < 85) {
      if (model.empty()) continue;
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      QueueEntry out;
      REQUIRE(q.remove_ready(it->first.second, &out));
      CHECK(out.id == it->first.second);
      model.erase(it);
    } else if (op < 90) {
      // An id that is not ready (held or never existed) is not found.
      QueueEntry out;
      const std::uint64_t id = held.empty() ? next_id + 5 : held.begin()->first;
      CHECK_FALSE(q.remove_ready(id, &out));
    } else {
      now += static_cast<std::int64_t>(rng() % 20);
      std::vector<ExpiredMessage> expired;
      q.collect_expired(now, 7 + rng() % 40, expired);  // small budgets: passes span calls
      for (const ExpiredMessage& e : expired) {
        QueueEntry out;
        REQUIRE(q.remove_ready(e.id, &out));
        CHECK(out.msg->expired_at(now));
        for (auto it = model.begin(); it != model.end(); ++it)
          if (it->first.second == e.id) {
            model.erase(it);
            break;
          }
      }
    }
    REQUIRE(q.depth() == model.size());
    REQUIRE(q.inflight() == held.size());
    if (!model.empty()) {
      REQUIRE(q.front() != nullptr);
      REQUIRE(q.front()->id == model.begin()->first.second);
    }
  }
  // The next-expiry hint is never late: no ready message expires before it.
  for (const auto& [key, exp] : model)
    if (exp != 0) CHECK(exp >= std::min(q.next_expiry(), exp));
  // A complete sweep with an unlimited budget finds exactly the expired ones.
  now += 1000;
  std::vector<ExpiredMessage> expired;
  while (q.next_expiry() <= now) {
    std::vector<ExpiredMessage> batch;
    q.collect_expired(now, 1'000'000, batch);
    expired.insert(expired.end(), batch.begin(), batch.end());
    if (batch.empty()) break;
    for (const ExpiredMessage& e : batch) {
      QueueEntry out;
      REQUIRE(q.remove_ready(e.id, &out));
    }
  }
  std::set<std::uint64_t> want;
  for (const auto& [key, exp] : model)
    if (exp != 0) want.insert(key.second);
  std::set<std::uint64_t> got;
  for (const ExpiredMessage& e : expired) got.insert(e.id);
  CHECK(got == want);
  CHECK(q.depth() == model.size() - want.size());
}
