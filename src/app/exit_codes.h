// app/exit_codes.h — the process exit codes, documented in README "Exit codes".
// Scripts and supervisors (systemd Restart=, the resync tool) rely on these numbers:
// never renumber, only add.
#pragma once

namespace twinmq::app {

enum ExitCode : int {
  kExitClean = 0,         // stopped by SIGINT/SIGTERM (or a tool finished without problems)
  kExitRuntimeFailure = 1,// could not start (port in use, data directory locked, ...) or failed running
  kExitConfigError = 2,   // the configuration is invalid (every problem printed with file:line)
};

}  // namespace twinmq::app
