// tools/bench/verifier.h — did every message arrive exactly once, and in order per
// producer?
//
// Producers stamp each message with their id and a sequence number 0, 1, 2, ...
// Each consumer keeps, per producer, one bit per sequence number seen and the
// highest seen so far:
//  - a bit already set is a duplicate (a redelivery counts too);
//  - a number below the highest seen is out of order (on a queue with several
//    consumers, each consumer's share must still rise);
//  - on a queue the consumers' bits are OR-ed: overlap is a duplicate, a hole is a
//    lost message. On a topic every consumer must see every number itself.
// Memory: one bit per message per (consumer, producer) pair that saw it.
//
// Lifecycle: one per worker thread, holding that thread's consumers; the runner
// adopt()s them all into one after the threads join.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace twinmq::bench {

class Verifier {
 public:
  enum class Mode { queue, topic };

  struct Counts {
    std::uint64_t received = 0;      // deliveries recorded
    std::uint64_t lost = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t out_of_order = 0;
  };

  explicit Verifier(Mode mode) : mode_(mode) {}

  // Adds a consumer; returns its index for record().
  std::size_t add_consumer();
  void record(std::size_t consumer, std::uint32_t producer, std::uint64_t seq);
  // Takes over `other`'s consumers.
  void adopt(Verifier&& other);

  // sent[p] = messages producer p sent (seqs 0..sent[p]-1). Producers missing from
  // `sent` count as having sent up to the highest sequence anyone saw (drain runs,
  // where the producers were another process).
  Counts counts(std::span<const std::uint64_t> sent) const;

 private:
  struct Track {
    std::vector<std::uint64_t> bits;
    std::uint64_t highest = 0;
    bool any = false;
    std::uint64_t received = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t out_of_order = 0;
    bool test(std::uint64_t seq) const {
      return seq / 64 < bits.size() && (bits[seq / 64] >> (seq % 64) & 1u);
    }
  };
  using ConsumerTracks = std::vector<Track>;  // by producer id

  Mode mode_;
  std::vector<ConsumerTracks> consumers_;
};

}  // namespace twinmq::bench
