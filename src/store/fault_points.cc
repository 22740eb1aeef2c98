#include "store/fault_points.h"

#include <array>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <string>

#include "store/errors.h"

namespace twinmq::store {

namespace {

constexpr std::array<std::string_view, kFaultPointCount> kNames = {
    "write_enospc", "write_eio", "write_short", "sync_eio",
    "create_enospc", "crash_mid_write", "crash_after_sync", "sync_slow"};

struct Slot {
  std::atomic<int> skip{0};
  std::atomic<int> count{0};
};

std::array<Slot, kFaultPointCount> g_slots;
// Fast path: the writer checks one relaxed flag per I/O call when nothing is armed.
std::atomic<bool> g_any_armed{false};

bool parse_int(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && out >= 0;
}

}  // namespace

std::string_view fault_point_name(FaultPoint p) { return kNames[static_cast<int>(p)]; }

std::optional<FaultPoint> fault_point_by_name(std::string_view name) {
  for (int i = 0; i < kFaultPointCount; ++i) {
    if (kNames[i] == name) return static_cast<FaultPoint>(i);
  }
  return std::nullopt;
}

void arm_fault(FaultPoint p, int count, int skip) {
  Slot& s = g_slots[static_cast<int>(p)];
  s.skip.store(skip);
  s.count.store(count);
  g_any_armed.store(true);
}

void disarm_all_faults() {
  for (Slot& s : g_slots) {
    s.count.store(0);
    s.skip.store(0);
  }
  g_any_armed.store(false);
}

bool fault_fires(FaultPoint p) {
  if (!g_any_armed.load(std::memory_order_relaxed)) return false;
  Slot& s = g_slots[static_cast<int>(p)];
  if (s.count.load() <= 0) return false;
  // Only the writer thread consumes hits, so check-then-decrement does not race with
  // another consumer; arming concurrently only changes which hit fires.
  if (s.skip.load() > 0) {
    s.skip.fetch_sub(1);
    return false;
  }
  return s.count.fetch_sub(1) > 0;
}

Result<void> arm_faults_from_env() {
  const char* env = std::getenv("TWINMQ_FAULT");
  if (env == nullptr || *env == '\0') return {};
  std::string_view rest(env);
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const std::size_t colon = item.find(':');
    auto bad = [&] {
      return make_error(Errc::bad_argument,
                        "TWINMQ_FAULT: '" + std::string(item) +
                            "' is not <point>:<count>[@<skip>] with a known point");
    };
    if (colon == std::string_view::npos) return bad();
    auto point = fault_point_by_name(item.substr(0, colon));
    std::string_view numbers = item.substr(colon + 1);
    const std::size_t at = numbers.find('@');
    int count = 0;
    int skip = 0;
    if (!point || !parse_int(numbers.substr(0, at), count)) return bad();
    if (at != std::string_view::npos && !parse_int(numbers.substr(at + 1), skip)) return bad();
    arm_fault(*point, count, skip);
  }
  return {};
}

}  // namespace twinmq::store
