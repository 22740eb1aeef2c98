// tools/bench/latency_histogram.h — an HdrHistogram-style latency record with fixed
// memory: log-bucketed, 128 linear sub-buckets per power of two, so any value is
// kept within 1/128 (< 0.8 %) of itself from 1 ns up to 2^63 ns.
//
// Layout: values below 256 have their own counter. Above, a value v with
// shift = bit_width(v) - 8 lands in counter shift*128 + (v >> shift), whose top
// bit is always set, so the counters run on without gaps (7,424 of them, 58 KiB).
//
// Lifecycle: a plain value; one per worker thread, merged after the threads join.
#pragma once

#include <array>
#include <cstdint>

namespace twinmq::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 8;
  static constexpr std::uint64_t kSubCount = 1u << kSubBits;      // 256
  static constexpr std::uint64_t kHalf = kSubCount / 2;           // 128
  static constexpr std::size_t kCounters = (64 - kSubBits) * kHalf + kSubCount;

  void record(std::uint64_t value_ns);
  void merge(const LatencyHistogram& other);

  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return max_; }
  std::uint64_t min() const { return total_ ? min_ : 0; }
  double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0; }
  // The value at percentile p (0..100]: the highest value of the bucket holding
  // that rank, capped at the largest value recorded. 0 when empty.
  std::uint64_t percentile(double p) const;

  static std::size_t index_of(std::uint64_t v);
  static std::uint64_t highest_in_bucket(std::size_t index);

 private:
  std::array<std::uint64_t, kCounters> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = ~0ull;
  std::uint64_t sum_ = 0;
};

}  // namespace twinmq::bench
