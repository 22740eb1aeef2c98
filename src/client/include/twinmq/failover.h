// twinmq/failover.h — FailoverClient: a SyncClient that survives the loss of its
// broker, driven by ActiveMQ's failover URIs.
//
//   using namespace twinmq::client;
//   auto c = FailoverClient::connect(
//       "failover:(tcp://a:61613,tcp://b:61614)?randomize=false&maxReconnectAttempts=-1",
//       {.login = "app", .passcode = "secret"},
//       [](const FailoverEvent& e) { std::cerr << describe(e) << '\n'; });
//   if (!c) { std::cerr << c.error().message << '\n'; return 1; }
//   c->subscribe("/queue/orders", "orders", AckMode::client_individual);
//   c->send("/queue/orders", "hello", {.persistent = true});   // ok = receipted
//
// URIs. `failover:(m1,m2,...)?opt=value&...`, members `tcp://host:port` or
// `stomp://host:port` (the same thing here: STOMP over TCP). A plain `tcp://h:p` or
// `stomp://h:p` is one broker and no failover: a lost connection is an error.
// Options (ActiveMQ's names, defaults and meanings; see FailoverOptions) are checked:
// an unknown or misspelt name, a bad number or an empty list is an error that says
// what is wrong.
//
// What a failover does. When the connection breaks (socket closed or reset, I/O
// error, or the broker's heart-beats stop: ask for them with
// ConnectOptions::heart_beat_recv_ms to notice a broker that hangs or a cable that
// is cut without a reset), the call that noticed it:
//  1. tries the brokers of the list (the one just lost last), in order or shuffled
//     (`randomize`), waiting the back-off between passes; a refused connection is
//     normal (a slave refuses clients while its master lives) and is retried;
//  2. sends CONNECT with the same ConnectOptions (credentials, client-id, ...);
//  3. re-subscribes every active subscription (same id, ack mode and headers);
//  4. re-sends, in order, every SEND that had no RECEIPT yet;
//  5. then finishes its own work on the new connection.
// Reconnecting happens only inside calls (there is no background thread, as with
// SyncClient); `timeout` bounds how long a call waits for it.
//
// Delivery guarantees.
//  - Sends are at-least-once: send() returning ok means the broker sent its RECEIPT.
//    A SEND that was written but not receipted when the connection broke is sent
//    again, so the broker may get it twice (a consumer can see a duplicate). Every
//    SEND of a FailoverClient carries a receipt request, also with
//    SendOptions::receipt = false (then send() does not wait for it, but the client
//    keeps the message until the receipt comes, and re-sends it after a failover).
//    A send() that returns an error is not re-sent later. Every SEND carries a
//    duplicate-detection id (`_AMQ_DUPL_ID`, twinmq/client.h; ConnectOptions::
//    duplicate_ids = false turns it off) that its re-sends keep: a broker that detects
//    duplicates (a twinmq pair, Artemis) then stores a SEND re-sent after a failover
//    once, though it reached the old master before the crash.
//  - Messages delivered but not acknowledged when the connection broke belong to a
//    session that no longer exists: the broker redelivers them (`redelivered` set)
//    to a live subscription, possibly this one. So ack()/nack() of a message from an
//    earlier connection (ReceivedMessage::connection) sends nothing, returns ok and
//    reports an ack_dropped event: acknowledge the redelivered copy instead. Messages
//    of client/client-individual subscriptions still waiting in the client at the
//    failover are dropped for the same reason; auto-ack ones are kept and delivered.
//  - Transactions: the broker rolls back a transaction whose connection is lost. The
//    next send/ack/commit naming it fails with Errc::transaction_rolled_back (its
//    work did not happen; redo it in a new transaction); abort() of it returns ok.
//    A COMMIT whose RECEIPT was lost with the connection fails with
//    Errc::outcome_unknown: it may or may not have been committed.
//  - A broker ERROR frame is not a failover: the call fails with Errc::server_error
//    and the client is finished (as with SyncClient). One exception: the ERROR
//    `message:not serving` that a broker of a pair with a witness sends to every
//    client when it stops serving (it lost the witness key) is a failover.
//
// Threads: one thread at a time per FailoverClient.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "twinmq/client.h"

namespace twinmq::client {

// ActiveMQ failover transport options (same names in the URI).
struct FailoverOptions {
  bool randomize = true;                     // randomize: shuffle the list on each pass
  std::int64_t initial_reconnect_delay_ms = 10;  // initialReconnectDelay: before the 1st reconnect pass
  std::int64_t max_reconnect_delay_ms = 30000;   // maxReconnectDelay: cap of the back-off
  bool use_exponential_back_off = true;      // useExponentialBackOff: grow the delay each pass
  double back_off_multiplier = 2.0;          // backOffMultiplier (alias reconnectDelayExponent)
  int max_reconnect_attempts = -1;           // maxReconnectAttempts: passes after a loss; -1 forever, 0 none
  int startup_max_reconnect_attempts = -1;   // startupMaxReconnectAttempts: the same before the first
                                             // connection; -1 = use maxReconnectAttempts
  std::int64_t timeout_ms = -1;              // timeout: how long a call waits for a reconnect; -1 forever
};

struct BrokerAddress {
  std::string scheme;  // "tcp", "stomp", "ssl" or "stomp+ssl" (the last two: TLS, ConnectOptions::tls)
  std::string host;    // IPv6 without brackets
  std::uint16_t port = 0;
  std::string to_string() const;  // "tcp://host:port" ([v6] in brackets)
  bool tls() const { return scheme == "ssl" || scheme == "stomp+ssl"; }
};

struct FailoverUri {
  std::vector<BrokerAddress> brokers;  // in the order written
  FailoverOptions options;
  bool failover = false;  // false: a plain tcp:// / stomp:// URI (never reconnects)
};

// Parses a failover: or plain URI. Errors (Errc::bad_argument) name the problem,
// e.g. "failover URI: unknown option 'maxReconectDelay' (did you mean maxReconnectDelay?)".
Result<FailoverUri> parse_failover_uri(std::string_view uri);

// The back-off (pure; for tests and the curious): the wait before reconnect pass
// `attempt` (1 = the first pass after a loss): initialReconnectDelay, then times
// backOffMultiplier per pass up to maxReconnectDelay (constant without
// useExponentialBackOff). The first connection's first pass does not wait.
std::chrono::milliseconds reconnect_delay(const FailoverOptions& options, int attempt);

// How many reconnect passes are allowed (-1 = no limit) before / after the first
// successful connection.
int reconnect_attempt_limit(const FailoverOptions& options, bool before_first_connection);

// The order in which one pass tries the brokers: the list order (or shuffled with
// `randomize`), with `last_lost` (the broker whose connection just broke) moved last.
std::vector<std::size_t> pass_order(std::size_t brokers, std::optional<std::size_t> last_lost,
                                    bool randomize, std::mt19937_64& rng);

enum class FailoverEventKind {
  connected,        // first connection made (broker)
  attempt_failed,   // one broker could not be reached (broker, reason)
  connection_lost,  // the live connection broke (broker, reason, dropped)
  reconnected,      // connected again (broker, attempts, resubscribed, resent)
  gave_up,          // reconnect attempts exhausted; the client is finished (reason)
  ack_dropped,      // ack/nack of a message from an earlier connection not sent (reason)
};

struct FailoverEvent {
  FailoverEventKind kind = FailoverEventKind::connected;
  std::string broker{};          // "tcp://host:port"
  std::string reason{};          // why it was lost / failed
  int attempts = 0;              // reconnect passes so far
  std::size_t resubscribed = 0;  // reconnected: subscriptions restored
  std::size_t resent = 0;        // reconnected: unreceipted SENDs sent again
  std::size_t dropped = 0;       // connection_lost: unacked deliveries dropped (redelivered later)
};

// One line for a log: "connected to tcp://a:61613", "connection to tcp://a:61613
// lost: ...", "reconnected to tcp://b:61614 after 3 attempts (...)".
std::string describe(const FailoverEvent& event);

// Called inside FailoverClient calls, on the calling thread. Must not call back
// into the client.
using FailoverListener = std::function<void(const FailoverEvent&)>;

class FailoverSession;

class FailoverClient {
 public:
  // Parses `uri`, connects to a broker of it (retrying as the options say; bounded
  // by `timeout` when it is not -1) and returns once CONNECTED.
  static Result<FailoverClient> connect(std::string_view uri, ConnectOptions options = {},
                                        FailoverListener listener = {});
  static Result<FailoverClient> connect(FailoverUri uri, ConnectOptions options = {},
                                        FailoverListener listener = {});

  FailoverClient(FailoverClient&&) noexcept;
  FailoverClient& operator=(FailoverClient&&) noexcept;
  ~FailoverClient();  // closes the socket without DISCONNECT (the broker redelivers)

  // As SyncClient's, plus failover. On a live connection each wait is bounded by
  // ConnectOptions::timeout; while reconnecting, by the failover `timeout`.
  Result<void> send(std::string_view destination, std::string_view body,
                    const SendOptions& options = {});
  Result<void> subscribe(std::string_view destination, std::string_view id,
                         AckMode ack = AckMode::auto_ack, const Headers& headers = {});
  Result<void> unsubscribe(std::string_view id);
  // nullopt after `timeout` (reconnecting counts), or once the client is finished.
  std::optional<ReceivedMessage> receive(std::chrono::milliseconds timeout);
  Result<void> ack(const ReceivedMessage& message, const AckOptions& options = {});
  Result<void> nack(const ReceivedMessage& message, const AckOptions& options = {});
  Result<void> begin(std::string_view transaction);
  Result<void> commit(std::string_view transaction);
  Result<void> abort(std::string_view transaction);
  // DISCONNECT with a receipt (so every earlier SEND is confirmed), then closes.
  Result<void> disconnect();

  // Finished: disconnected, gave up, or ended by a broker ERROR.
  bool is_finished() const;
  std::optional<Error> last_error() const;
  // The broker of the current (or last) connection, "tcp://host:port".
  std::string broker() const;
  // 1 for the first connection, +1 per failover (ReceivedMessage::connection).
  std::uint64_t connection_number() const;
  // SENDs written but not yet receipted.
  std::size_t unconfirmed_sends() const;
  void set_timeout(std::chrono::milliseconds timeout);  // as SyncClient's

 private:
  explicit FailoverClient(std::unique_ptr<FailoverSession> session);
  std::unique_ptr<FailoverSession> session_;
};

}  // namespace twinmq::client
