// examples/cpp/consumer.cc — receives messages through a FailoverClient with
// client-individual acks and prints each one; exits after COUNT messages, or after
// IDLE_SECONDS without one. Kill the master of a pair while it runs: it re-subscribes
// on the slave and goes on. After a failover the broker redelivers what was not
// acknowledged yet, so a message can be printed twice ("(redelivered)").
//
//   consumer [URI] [DESTINATION] [COUNT] [IDLE_SECONDS]
//   build/examples/cpp/consumer 'failover:(tcp://127.0.0.1:61613,tcp://127.0.0.1:61614)?randomize=false' /queue/example 100
//
// stdout: "received <body>" per message; stderr: connection events.
#include <twinmq/failover.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

using namespace twinmq::client;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const std::string uri = argc > 1 ? argv[1]
                                   : "failover:(tcp://127.0.0.1:61613,tcp://127.0.0.1:61614)?randomize=false";
  const std::string destination = argc > 2 ? argv[2] : "/queue/example";
  const int count = argc > 3 ? std::atoi(argv[3]) : 100;
  const int idle_seconds = argc > 4 ? std::atoi(argv[4]) : 10;
  if (argc > 5 || count < 0 || idle_seconds <= 0) {
    std::cerr << "usage: consumer [URI] [DESTINATION] [COUNT] [IDLE_SECONDS]\n";
    return 2;
  }

  auto client = FailoverClient::connect(uri, {}, [](const FailoverEvent& e) {
    std::cerr << "consumer: " << describe(e) << std::endl;
  });
  if (!client) {
    std::cerr << "consumer: " << client.error().message << '\n';
    return 1;
  }
  // Restored by the client on every broker it fails over to.
  if (auto s = client->subscribe(destination, "example", AckMode::client_individual); !s) {
    std::cerr << "consumer: " << s.error().message << '\n';
    return 1;
  }

  int received = 0;
  auto last = Clock::now();
  while (received < count && Clock::now() - last < std::chrono::seconds(idle_seconds)) {
    auto m = client->receive(std::chrono::seconds(1));
    if (!m) {
      if (client->is_finished()) break;  // gave up reconnecting (or an ERROR)
      continue;
    }
    last = Clock::now();
    ++received;
    std::cout << "received " << m->body << (m->redelivered ? " (redelivered)" : "") << std::endl;
    // Acknowledge after processing. If the connection was lost meanwhile, the ack
    // is not sent and the broker redelivers the message: at-least-once.
    if (auto acked = client->ack(*m); !acked) {
      std::cerr << "consumer: " << acked.error().message << '\n';
      return 1;
    }
  }
  if (auto e = client->last_error(); client->is_finished() && e) {
    std::cerr << "consumer: " << e->message << '\n';
    return 1;
  }
  std::cerr << "consumer: " << received << " messages\n";
  client->disconnect();
  return 0;
}
