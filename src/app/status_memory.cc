// app/status_memory.cc — see status_memory.h.
#include "app/status_memory.h"

#include <fmt/format.h>

namespace twinmq::app {

namespace {

std::string used_of(std::uint64_t used, std::uint64_t limit) {
  constexpr double kMiB = 1024.0 * 1024.0;
  if (limit == 0) return fmt::format("{:.1f} MiB (no limit)", static_cast<double>(used) / kMiB);
  return fmt::format("{:.1f} MiB of {:.1f} MiB ({}%)", static_cast<double>(used) / kMiB,
                     static_cast<double>(limit) / kMiB, used * 100 / limit);
}

}  // namespace

std::string format_memory_status(const broker::Broker& broker, bool persistent) {
  const broker::Broker::MemoryStats m = broker.memory_stats();
  std::string out = "memory: " + used_of(m.used, m.limit) + " used (memoryUsage)";
  if (m.waiting_producers != 0)
    out += fmt::format("; {} producer connection(s) waiting for room", m.waiting_producers);
  if (m.paged != 0) out += fmt::format("; {} message(s) paged out to the journal", m.paged);
  out += "\n";
  if (persistent) out += "store: " + used_of(m.store_used, m.store_limit) + " live in the journal (storeUsage)\n";
  for (const broker::Broker::DestinationStats& d : broker.stats())
    out += fmt::format("destination {}: memory {}, {} waiting, {} in flight\n", d.name,
                       used_of(d.memory_used, d.memory_limit), d.depth, d.inflight);
  return out;
}

}  // namespace twinmq::app
