// Failed logins per address: refused after N within the window, until it ends.
#include <doctest.h>

#include "auth/login_limiter.h"

namespace twinmq::auth {

TEST_CASE("N failures in the window block the address until the window ends; others are not touched") {
  LoginLimiter l(3, 10'000);
  l.failed("10.0.0.1", 1000);
  l.failed("10.0.0.1", 2000);
  CHECK(l.blocked_for("10.0.0.1", 2000) == 0);
  l.failed("10.0.0.1", 3000);
  CHECK(l.blocked_for("10.0.0.1", 3000) == 8000);  // the window began at the first failure
  CHECK(l.blocked_for("10.0.0.1", 10'999) == 1);
  CHECK(l.blocked_for("10.0.0.1", 11'000) == 0);
  CHECK(l.blocked_for("10.0.0.2", 3000) == 0);
  l.failed("10.0.0.1", 11'000);  // a new window
  CHECK(l.blocked_for("10.0.0.1", 11'000) == 0);
}

TEST_CASE("a success clears the count; 0 turns the limit off") {
  LoginLimiter l(2, 10'000);
  l.failed("a", 0);
  l.succeeded("a");
  l.failed("a", 1);
  CHECK(l.blocked_for("a", 1) == 0);
  LoginLimiter off(0, 10'000);
  for (int i = 0; i < 100; ++i) off.failed("a", i);
  CHECK(off.blocked_for("a", 100) == 0);
  CHECK(off.tracked() == 0);
}

TEST_CASE("memory stays bounded however many addresses fail") {
  LoginLimiter l(5, 1000);
  for (std::size_t i = 0; i < LoginLimiter::kMaxAddresses + 100; ++i) l.failed(std::to_string(i), 0);
  CHECK(l.tracked() <= LoginLimiter::kMaxAddresses);
}

TEST_CASE("peer_host strips the port and IPv6 brackets") {
  CHECK(peer_host("10.0.0.2:40522") == "10.0.0.2");
  CHECK(peer_host("[::1]:40522") == "::1");
}

}  // namespace twinmq::auth
