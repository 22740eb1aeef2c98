// The doctest main of the integration suite. SIGPIPE is ignored so that writing to a
// broker that has just closed the connection is an error return (EPIPE), which the
// tests expect after an ERROR frame, and not the death of the test binary.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest.h>

#include <csignal>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  doctest::Context context(argc, argv);
  return context.run();
}
