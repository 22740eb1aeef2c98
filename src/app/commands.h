// app/commands.h — the store recovery subcommands of the twinmq command line, each in
// its own file (main.cc only dispatches to them). README "Recovering the pair after a
// failover" is the manual; twinmq-resync runs the first two for the operator.
//
//   twinmq compare-stores [--json] A B       cmd_compare_stores.cc (store/compare.h)
//   twinmq compare-stores --history DIR      (the history of DIR, to compare on another machine)
//   twinmq salvage --from DIR --fork-seq N --out FILE      cmd_salvage.cc (app/salvage_file.h)
//   twinmq replay FILE --to URI [--skip N] [--user U --password P]   cmd_replay.cc
//   twinmq hash-password                     cmd_hash_password.cc (auth/password.h)
//
// Each takes the arguments after its own name and returns the process exit code:
// 0 done (compare-stores: B holds nothing after the fork), 1 the thing asked for did not
// happen or found something (the output says what), 2 bad usage or an input that
// cannot be read. Main thread only.
#pragma once

#include <string_view>
#include <vector>

namespace twinmq::app {

using Args = std::vector<std::string_view>;

inline constexpr int kCommandOk = 0;
inline constexpr int kCommandFound = 1;
inline constexpr int kCommandUsage = 2;

int run_compare_stores(const Args& args);
int run_salvage(const Args& args);
int run_replay(const Args& args);
int run_hash_password(const Args& args);

}  // namespace twinmq::app
