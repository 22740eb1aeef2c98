// app/exit_codes.h — the process exit codes, documented in README "Exit codes".
// Scripts and supervisors (systemd Restart=, the resync tool) rely on these numbers:
// never renumber, only add.
#pragma once

#include "replication/role.h"

namespace twinmq::app {

enum ExitCode : int {
  kExitClean = 0,         // stopped by SIGINT/SIGTERM (or a tool finished without problems)
  kExitRuntimeFailure = 1,// could not start (port in use, data directory locked, ...) or failed running
  kExitConfigError = 2,   // the configuration is invalid (every problem printed with file:line)
  // Replication (README "Operations"):
  kExitMasterFailed = 3,  // slave: its master failed (or stopped) and shutdownOnMasterFailure="true";
                          //   its copy of the data is intact in its data directory
  kExitSlaveLost = 4,     // master: the slave link was lost and shutdownOnSlaveFailure="true"
  kExitRejected = 5,      // slave: its master refused it (credentials, another store, diverged
                          //   history, ...); the log says why and what to do
  kExitMirrorFailed = 6,  // slave: it could not apply what its master sent; restart it to resync
  kExitStale = 7,         // master: the pair's witness holds a newer epoch (the slave took over) or
                          //   names another broker as the last to serve this epoch: this store may
                          //   not serve; the log points at the recovery procedure
};

static_assert(kExitMasterFailed == replication::kExitMasterFailed);
static_assert(kExitSlaveLost == replication::kExitSlaveLost);
static_assert(kExitRejected == replication::kExitRejected);
static_assert(kExitMirrorFailed == replication::kExitMirrorFailed);

}  // namespace twinmq::app
