// examples/cpp/producer.cc — sends COUNT persistent messages through a FailoverClient,
// each confirmed by the broker (a RECEIPT) before the next, and prints each
// confirmation. Kill the master of a pair while it runs: it carries on against the
// slave, re-sending what had no receipt yet.
//
//   producer [URI] [DESTINATION] [COUNT] [PAUSE_MS]
//   build/examples/cpp/producer 'failover:(tcp://127.0.0.1:61613,tcp://127.0.0.1:61614)?randomize=false' /queue/example 100
//
// stdout: "receipted m-<n>" per message; stderr: connection events.
#include <twinmq/failover.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

using namespace twinmq::client;

int main(int argc, char** argv) {
  const std::string uri = argc > 1 ? argv[1]
                                   : "failover:(tcp://127.0.0.1:61613,tcp://127.0.0.1:61614)?randomize=false";
  const std::string destination = argc > 2 ? argv[2] : "/queue/example";
  const int count = argc > 3 ? std::atoi(argv[3]) : 100;
  const int pause_ms = argc > 4 ? std::atoi(argv[4]) : 0;  // between messages, to watch it
  if (argc > 5 || count < 0 || pause_ms < 0) {
    std::cerr << "usage: producer [URI] [DESTINATION] [COUNT] [PAUSE_MS]\n";
    return 2;
  }

  // Connection events go to stderr: "connected to ...", "connection to ... lost: ...".
  auto client = FailoverClient::connect(uri, {}, [](const FailoverEvent& e) {
    std::cerr << "producer: " << describe(e) << std::endl;
  });
  if (!client) {
    std::cerr << "producer: " << client.error().message << '\n';
    return 1;
  }

  for (int n = 0; n < count; ++n) {
    const std::string body = "m-" + std::to_string(n);
    // Waits for the RECEIPT; across a failover it is re-sent, so "ok" means stored.
    if (auto sent = client->send(destination, body, {.persistent = true}); !sent) {
      std::cerr << "producer: " << sent.error().message << '\n';
      return 1;
    }
    std::cout << "receipted " << body << std::endl;
    if (pause_ms) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  }
  if (auto done = client->disconnect(); !done) {
    std::cerr << "producer: " << done.error().message << '\n';
    return 1;
  }
  return 0;
}
