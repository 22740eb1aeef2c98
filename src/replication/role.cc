// replication/role.cc — the one place a role changes (replication/role.h).
#include "replication/role.h"

#include <spdlog/spdlog.h>

#include "base/assert.h"
#include "base/clock.h"

namespace twinmq::replication {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::master: return "master";
    case Role::slave: return "slave";
    case Role::promoted: return "promoted";
  }
  return "unknown";
}

RoleState::RoleState(Role initial, std::string reason)
    : role_(initial), reason_(std::move(reason)), since_ms_(wall_ms()) {
  spdlog::info("role: {} ({})", role_name(role_), reason_);
}

void RoleState::enter(Role next, std::string reason) {
  if (next == role_) return;
  TWINMQ_ASSERT(role_ == Role::slave && next == Role::promoted, "the only role change is slave -> promoted");
  spdlog::warn("[event=role_change] role: {} -> {} ({})", role_name(role_), role_name(next), reason);
  role_ = next;
  reason_ = std::move(reason);
  since_ms_ = wall_ms();
}

}  // namespace twinmq::replication
