// base/latency_histogram.h — a fixed-bucket latency histogram in Prometheus's shape
// (cumulative "le" buckets, a sum and a count), for the journal's fdatasync times.
//
// Buckets are fixed at compile time (100 µs to 10 s, roughly ×2.5 apart), so
// recording is a short scan and no allocation; observations are nanoseconds, exported
// in seconds (Prometheus's base unit).
//
// Lifecycle: a plain value; whoever owns it decides the thread (the journal keeps
// one on the loop thread, fed from the writer's reports).
#pragma once

#include <array>
#include <cstdint>

namespace twinmq {

class LatencyHistogram {
 public:
  // Upper bounds in seconds, ascending; +Inf is implicit (count()).
  static constexpr std::array<double, 12> kBoundsSeconds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                            0.01,   0.025,   0.05,   0.1,   1.0,    10.0};

  void record_ns(std::uint64_t ns) {
    const double s = static_cast<double>(ns) / 1e9;
    for (std::size_t i = 0; i < kBoundsSeconds.size(); ++i)
      if (s <= kBoundsSeconds[i]) ++buckets_[i];
    ++count_;
    sum_ns_ += ns;
  }

  // Observations at or below kBoundsSeconds[i] (cumulative, as Prometheus wants them).
  std::uint64_t cumulative(std::size_t i) const { return buckets_[i]; }
  std::uint64_t count() const { return count_; }
  double sum_seconds() const { return static_cast<double>(sum_ns_) / 1e9; }

 private:
  std::array<std::uint64_t, kBoundsSeconds.size()> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ns_ = 0;
};

}  // namespace twinmq
