// app/switchover.h — the two halves of `twinmq switchover` that run outside the event
// loop (the broker's half is app/runtime_switchover.cc):
//
//   run_switchover     the command: asks the broker over its control socket, prints the
//                      answer, then waits (bounded) until `twinmq status` of the same
//                      data directory shows it back as an in-sync slave.
//   restart_as_slave   main()'s last step in the broker process after a switchover:
//                      exec itself again with --rejoin, so the pid (and a supervisor's
//                      view of it) stays while the broker comes back as the slave.
//
// Main thread only.
#pragma once

#include <string>

#include "app/runtime.h"

namespace twinmq::app {

// Returns the exit code: 0 handed over (and in sync again, unless timeout_s is 0),
// 1 refused, unreachable, or not in sync within timeout_s.
int run_switchover(const std::string& data_directory, const std::string& config_file, const std::string& to,
                   const std::string& user, int timeout_s);

// Replaces this process with `twinmq <argv without --rejoin/--rejoin-user/
// --discard-forked-tail/--claim-witness> [--rejoin URI [--rejoin-user USER]]`.
// Returns only when exec failed (with the exit code to use).
int restart_as_slave(int argc, char** argv, const RestartAsSlave& restart);

}  // namespace twinmq::app
