// test/support/wait_until.h — bounded waiting, the only kind a test may do (Redis
// wait_for_condition): poll a predicate until it holds or the deadline passes, and
// say what was awaited when it did not.
//
//   REQUIRE(wait_until(5s, [&] { return count() == 10; }, "10 messages"));
//
// The poll interval is short (2 ms) so a passing wait costs almost nothing; prefer
// blocking on a socket or pipe with a timeout where one exists (RawStomp, BrokerProcess).
#pragma once

#include <chrono>
#include <cstdio>
#include <string_view>
#include <thread>

namespace twinmq::test {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// Milliseconds left until `deadline` (0 when past), for poll() timeouts.
inline int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : (left > 1'000'000 ? 1'000'000 : static_cast<int>(left));
}

template <class Pred>
bool wait_until(Clock::duration timeout, Pred&& pred, std::string_view what) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) {
      std::fprintf(stderr, "wait_until: timed out after %lld ms waiting for: %.*s\n",
                   static_cast<long long>(std::chrono::duration_cast<Ms>(timeout).count()),
                   static_cast<int>(what.size()), what.data());
      return false;
    }
    std::this_thread::sleep_for(Ms(2));
  }
}

}  // namespace twinmq::test
