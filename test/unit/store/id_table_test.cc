// IdTable (store/id_table.h), the journal index's table: held against a std::map
// through in-order appends, out-of-order strays, removals at the front, the back and
// the middle (tombstones and compaction), and chunk boundaries.
#include <doctest.h>

#include <map>
#include <random>

#include "store/id_table.h"

using twinmq::store::IdTable;

namespace {

struct Value {
  std::uint32_t tag = 0;  // 0 = vacant
  bool vacant() const { return tag == 0; }
  void vacate() { tag = 0; }
};

void same(const IdTable<Value>& t, const std::map<std::uint64_t, std::uint32_t>& want) {
  REQUIRE(t.size() == want.size());
  std::map<std::uint64_t, std::uint32_t> seen;
  t.for_each([&](std::uint64_t id, const Value& v) { seen.emplace(id, v.tag); });
  CHECK(seen == want);
  for (const auto& [id, tag] : want) {
    const Value* v = t.find(id);
    REQUIRE(v != nullptr);
    CHECK(v->tag == tag);
  }
}

}  // namespace

TEST_CASE("id table: appends, finds, removes in any order, compacts, and keeps strays") {
  IdTable<Value> t;
  std::map<std::uint64_t, std::uint32_t> want;
  std::mt19937_64 rng(7);
  std::uint64_t next = 1;
  for (int round = 0; round < 40; ++round) {
    // Append a run (ids with gaps, as non-persistent messages leave them).
    const int n = static_cast<int>(rng() % 3000);
    for (int i = 0; i < n; ++i) {
      next += 1 + rng() % 3;
      const auto tag = static_cast<std::uint32_t>(next % 1000 + 1);
      t.insert(next, Value{tag});
      want[next] = tag;
    }
    // Now and then an id older than the newest: a stray.
    if (round % 5 == 0) {
      const std::uint64_t old = next / 2 * 2 + 0;  // even ids below `next` may be free
      for (std::uint64_t id = old; id > 0 && id + 50 > old; --id) {
        if (!want.contains(id)) {
          t.insert(id, Value{9999});
          want[id] = 9999;
          break;
        }
      }
    }
    // Remove: the oldest run (a queue consumed in order), then random ones.
    const std::size_t front = want.size() / 3;
    for (std::size_t i = 0; i < front && !want.empty(); ++i) {
      t.erase(want.begin()->first);
      want.erase(want.begin());
    }
    const std::size_t random = want.size() / 4;
    for (std::size_t i = 0; i < random && !want.empty(); ++i) {
      auto it = want.lower_bound(rng() % (next + 1));
      if (it == want.end()) it = std::prev(want.end());
      t.erase(it->first);
      want.erase(it);
    }
    same(t, want);
    CHECK(t.find(next + 1) == nullptr);
    CHECK(t.find(0) == nullptr);
  }
  // Emptied, it gives its chunks back and starts again.
  while (!want.empty()) {
    t.erase(std::prev(want.end())->first);
    want.erase(std::prev(want.end()));
  }
  same(t, want);
  CHECK(t.memory_bytes() < IdTable<Value>::kChunk * sizeof(IdTable<Value>::Slot));
  t.insert(next + 10, Value{5});
  CHECK(t.find(next + 10)->tag == 5);
}

TEST_CASE("id table: a value found can be changed in place") {
  IdTable<Value> t;
  for (std::uint64_t id = 1; id <= 10000; ++id) t.insert(id, Value{1});
  t.find(5000)->tag = 42;
  t.erase(4999);
  CHECK(t.find(5000)->tag == 42);
  CHECK(!t.contains(4999));
  CHECK(t.size() == 9999);
}
