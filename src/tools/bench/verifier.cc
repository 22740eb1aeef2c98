// tools/bench/verifier.cc — see verifier.h for the rules.
#include "tools/bench/verifier.h"

#include <algorithm>
#include <bit>

namespace twinmq::bench {

std::size_t Verifier::add_consumer() {
  consumers_.emplace_back();
  return consumers_.size() - 1;
}

void Verifier::record(std::size_t consumer, std::uint32_t producer, std::uint64_t seq) {
  ConsumerTracks& tracks = consumers_[consumer];
  if (producer >= tracks.size()) tracks.resize(producer + 1);
  Track& t = tracks[producer];
  ++t.received;
  const std::size_t word = seq / 64;
  if (word >= t.bits.size()) t.bits.resize(std::max<std::size_t>(word + 1, t.bits.size() * 2), 0);
  const std::uint64_t bit = 1ull << (seq % 64);
  if (t.bits[word] & bit) {
    ++t.duplicates;
    return;
  }
  t.bits[word] |= bit;
  if (t.any && seq < t.highest) ++t.out_of_order;
  if (!t.any || seq > t.highest) t.highest = seq;
  t.any = true;
}

void Verifier::adopt(Verifier&& other) {
  for (auto& c : other.consumers_) consumers_.push_back(std::move(c));
  other.consumers_.clear();
}

Verifier::Counts Verifier::counts(std::span<const std::uint64_t> sent) const {
  Counts out;
  std::size_t producers = sent.size();
  for (const auto& c : consumers_) producers = std::max(producers, c.size());

  for (std::size_t p = 0; p < producers; ++p) {
    // How many this producer sent: known, or inferred from what arrived.
    std::uint64_t expected = 0;
    if (p < sent.size()) {
      expected = sent[p];
    } else {
      for (const auto& c : consumers_) {
        if (p < c.size() && c[p].any) expected = std::max(expected, c[p].highest + 1);
      }
    }
    auto unique_below = [&](const Track& t) {
      std::uint64_t n = 0;
      const std::size_t full = static_cast<std::size_t>(expected / 64);
      for (std::size_t w = 0; w < t.bits.size() && w <= full; ++w) {
        std::uint64_t word = t.bits[w];
        if (w == full) word &= (expected % 64 == 0) ? 0 : ((1ull << (expected % 64)) - 1);
        n += static_cast<std::uint64_t>(std::popcount(word));
      }
      return n;
    };
    if (mode_ == Mode::topic) {
      for (const auto& c : consumers_) {
        static const Track empty;
        const Track& t = p < c.size() ? c[p] : empty;
        out.received += t.received;
        out.duplicates += t.duplicates;
        out.out_of_order += t.out_of_order;
        out.lost += expected - std::min(expected, unique_below(t));
      }
      continue;
    }
    // Queue: OR the consumers' shares; a number two consumers both got is a duplicate.
    std::vector<std::uint64_t> all;
    std::uint64_t unique_sum = 0;
    for (const auto& c : consumers_) {
      if (p >= c.size()) continue;
      const Track& t = c[p];
      out.received += t.received;
      out.duplicates += t.duplicates;
      out.out_of_order += t.out_of_order;
      unique_sum += unique_below(t);
      if (all.size() < t.bits.size()) all.resize(t.bits.size(), 0);
      for (std::size_t w = 0; w < t.bits.size(); ++w) all[w] |= t.bits[w];
    }
    Track merged;
    merged.bits = std::move(all);
    const std::uint64_t unique = unique_below(merged);
    out.duplicates += unique_sum - unique;
    out.lost += expected - std::min(expected, unique);
  }
  return out;
}

}  // namespace twinmq::bench
