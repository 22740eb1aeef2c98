// tools/bench/latency_histogram.cc — see latency_histogram.h for the layout.
#include "tools/bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace twinmq::bench {

std::size_t LatencyHistogram::index_of(std::uint64_t v) {
  if (v < kSubCount) return static_cast<std::size_t>(v);
  const int shift = std::bit_width(v) - kSubBits;
  return static_cast<std::size_t>(static_cast<std::uint64_t>(shift) * kHalf + (v >> shift));
}

std::uint64_t LatencyHistogram::highest_in_bucket(std::size_t index) {
  if (index < kSubCount) return index;
  // index = shift*128 + top, with top in [128, 256).
  const std::uint64_t shift = (index - kHalf) / kHalf;
  const std::uint64_t top = index - shift * kHalf;
  return (top << shift) | ((1ull << shift) - 1);
}

void LatencyHistogram::record(std::uint64_t value_ns) {
  ++counts_[index_of(value_ns)];
  ++total_;
  sum_ += value_ns;
  max_ = std::max(max_, value_ns);
  min_ = std::min(min_, value_ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kCounters; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

std::uint64_t LatencyHistogram::percentile(double p) const {
  if (total_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total_)));
  rank = std::clamp<std::uint64_t>(rank, 1, total_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kCounters; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(highest_in_bucket(i), max_);
  }
  return max_;
}

}  // namespace twinmq::bench
