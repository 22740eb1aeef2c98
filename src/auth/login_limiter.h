// auth/login_limiter.h — failed logins counted per peer address, so a client that
// guesses passwords is slowed to a few guesses per window.
//
// After `max_failures` failed logins from one address (the IP, without the port)
// within `window_ms` of the first of them, every further login from that address is
// refused without looking at the password until the window ends. A success clears
// the address's count. Refused attempts do not extend the window (a client retrying
// in a loop gets in once the window is over, and a guessing client gets
// `max_failures` guesses per window).
//
// Memory is bounded: entries whose window is over are dropped as new failures come,
// and past kMaxAddresses tracked addresses the oldest window is dropped first.
//
// Owned by auth::Security (app::Runtime); loop thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace twinmq::auth {

class LoginLimiter {
 public:
  static constexpr std::size_t kMaxAddresses = 65536;

  LoginLimiter(std::uint32_t max_failures, std::uint32_t window_ms)
      : max_failures_(max_failures), window_ms_(window_ms) {}

  bool enabled() const { return max_failures_ != 0; }
  // Milliseconds until `address` may try again; 0 when it may now.
  std::int64_t blocked_for(std::string_view address, std::int64_t now_ms) const;
  void failed(std::string_view address, std::int64_t now_ms);
  void succeeded(std::string_view address);
  std::size_t tracked() const { return entries_.size(); }

 private:
  struct Entry {
    std::int64_t window_start_ms = 0;
    std::uint32_t failures = 0;
  };
  void prune(std::int64_t now_ms);

  std::uint32_t max_failures_;
  std::uint32_t window_ms_;
  std::unordered_map<std::string, Entry> entries_;
};

// "10.0.0.2:40522" -> "10.0.0.2", "[::1]:40522" -> "::1" (net::format_address's forms).
std::string_view peer_host(std::string_view peer);

}  // namespace twinmq::auth
