// replication/role.h — what this broker is in its pair, every change of it logged
// with its reason, and the exit codes of the replication policies.
//
// Roles (ARCHITECTURE.md "Roles and the witness"):
//   master    a broker without masterConnectorURI: serves clients (once a slave is in
//             sync, with waitForSlave) and streams every event to its slave.
//   slave     mirrors its master; client connectors closed (not listening).
//   promoted  a slave that took over after its master failed or stopped; serves as a
//             standalone master. Terminal: no automatic failback.
// The only change is slave -> promoted. A slave that exits instead (shutdownOnMasterFailure,
// refused by its master) leaves through an exit code, not a role.
//
// Lifecycle: one per process, owned by app::Runtime; loop thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace twinmq::replication {

enum class Role : std::uint8_t { master, slave, promoted };

std::string_view role_name(Role role);

// Exit codes of the replication policies (mirrored in app/exit_codes.h, documented in
// the README "Exit codes"). Never renumber.
inline constexpr int kExitMasterFailed = 3;  // slave: master lost, shutdownOnMasterFailure="true"
inline constexpr int kExitSlaveLost = 4;     // master: slave lost, shutdownOnSlaveFailure="true"
inline constexpr int kExitRejected = 5;      // slave: refused by its master for a reason an operator must fix
inline constexpr int kExitMirrorFailed = 6;  // slave: could not apply or journal what its master sent

class RoleState {
 public:
  RoleState(Role initial, std::string reason);

  Role role() const { return role_; }
  const std::string& reason() const { return reason_; }
  std::int64_t since_ms() const { return since_ms_; }  // wall clock

  // Moves to `next`, logging why. Only slave -> promoted is a change; asking for the
  // current role again does nothing.
  void enter(Role next, std::string reason);

 private:
  Role role_;
  std::string reason_;
  std::int64_t since_ms_;
};

}  // namespace twinmq::replication
