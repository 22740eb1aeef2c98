#include "net/fd_limit.h"

#include <sys/resource.h>

namespace twinmq::net {

std::uint64_t raise_open_files_limit(std::uint64_t wanted) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= wanted) return lim.rlim_cur;
  const rlim_t target = lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= wanted ? wanted : lim.rlim_max;
  if (target > lim.rlim_cur) {
    rlimit raised = lim;
    raised.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return target;
  }
  return lim.rlim_cur;
}

}  // namespace twinmq::net
