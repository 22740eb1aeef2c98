// base/assert.h — invariants. TWINMQ_ASSERT is for our own bugs, never for
// validating input (input errors are Result<T>). It logs and aborts in every
// build type: a broker whose state is inconsistent must not keep acknowledging.
#pragma once

#include <cstdio>
#include <cstdlib>

#define TWINMQ_ASSERT(cond, msg)                                                   \
  do {                                                                             \
    if (!(cond)) [[unlikely]] {                                                    \
      std::fprintf(stderr, "twinmq: assertion failed at %s:%d: %s (%s)\n", __FILE__, \
                   __LINE__, #cond, msg);                                          \
      std::abort();                                                                \
    }                                                                              \
  } while (0)
