// net/fd_limit.h — room for the connections a connector promises to accept.
//
// Every accepted connection is a file descriptor. A connector that allows
// maximumConnections clients is only as good as RLIMIT_NOFILE: below it, accept()
// fails with EMFILE long before the limit, and the broker cannot even open a journal
// segment. Like Redis (adjustOpenFilesLimit), the broker raises its soft limit at
// start-up towards what its connectors need, as far as the hard limit allows, and says
// so when it cannot.
//
// Called once per connector at open(), on the loop thread.
#pragma once

#include <cstdint>

namespace twinmq::net {

// Raises the soft RLIMIT_NOFILE to at least `wanted` when the hard limit allows
// (never lowers it). Returns the soft limit in force afterwards.
std::uint64_t raise_open_files_limit(std::uint64_t wanted);

}  // namespace twinmq::net
