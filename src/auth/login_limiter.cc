// auth/login_limiter.cc — per-address failure windows (design comment in the header).
#include "auth/login_limiter.h"

#include <algorithm>

namespace twinmq::auth {

std::string_view peer_host(std::string_view peer) {
  const auto colon = peer.rfind(':');
  std::string_view host = colon == std::string_view::npos ? peer : peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

std::int64_t LoginLimiter::blocked_for(std::string_view address, std::int64_t now_ms) const {
  if (!enabled()) return 0;
  const auto it = entries_.find(std::string(address));
  if (it == entries_.end() || it->second.failures < max_failures_) return 0;
  const std::int64_t ends = it->second.window_start_ms + window_ms_;
  return ends > now_ms ? ends - now_ms : 0;
}

void LoginLimiter::failed(std::string_view address, std::int64_t now_ms) {
  if (!enabled()) return;
  auto [it, inserted] = entries_.try_emplace(std::string(address));
  Entry& e = it->second;
  if (inserted || now_ms - e.window_start_ms >= window_ms_) e = Entry{now_ms, 0};
  ++e.failures;
  if (entries_.size() > kMaxAddresses) prune(now_ms);
}

void LoginLimiter::succeeded(std::string_view address) {
  if (enabled()) entries_.erase(std::string(address));
}

void LoginLimiter::prune(std::int64_t now_ms) {
  std::erase_if(entries_, [&](const auto& kv) { return now_ms - kv.second.window_start_ms >= window_ms_; });
  while (entries_.size() > kMaxAddresses) {
    auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      return a.second.window_start_ms < b.second.window_start_ms;
    });
    entries_.erase(oldest);
  }
}

}  // namespace twinmq::auth
