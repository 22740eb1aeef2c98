// test/unit/loop_test_support.h — what the in-process unit tests of the store and the
// replication link share: quiet logs, a scratch directory, and running a loop until a
// condition holds (bounded, no sleeps).
//
// Lifecycle: test-local; the loop's thread only.
#pragma once

#include <doctest.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "net/loop.h"
#include "net/timer.h"

namespace twinmq::unit_test {

// Journals and links log every open, close and failure; tests run hundreds of those.
// Set TWINMQ_TEST_LOG=1 to see them.
inline const bool kQuietLogs = [] {
  if (std::getenv("TWINMQ_TEST_LOG") == nullptr) spdlog::set_level(spdlog::level::off);
  return true;
}();

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr ? base : "/tmp") + "/twinmq-unit-XXXXXX";
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs `loop` until `done()` or the deadline; false if the deadline hit first.
template <class Pred>
bool run_until(net::Loop& loop, Pred done, std::uint64_t timeout_ms = 10000) {
  if (done()) return true;
  bool timed_out = false;
  auto guard = net::Timer::create(loop);
  guard->start(timeout_ms, 0, [&] {
    timed_out = true;
    loop.stop();
  });
  auto poll = net::Timer::create(loop);
  poll->start(1, 1, [&] {
    if (done()) loop.stop();
  });
  loop.run();
  return !timed_out && done();
}

}  // namespace twinmq::unit_test
