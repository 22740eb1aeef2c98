// twinmq/client.h — the twinmq C++ STOMP client: a blocking API for applications,
// tests and tools. Works with any STOMP 1.0 / 1.1 / 1.2 broker (twinmq, ActiveMQ,
// Artemis, RabbitMQ): it sends only standard STOMP headers plus whatever you add.
//
//   using namespace twinmq::client;
//   auto c = SyncClient::connect("127.0.0.1", 61613, {.login = "app", .passcode = "secret"});
//   if (!c) { std::cerr << c.error().message << '\n'; return 1; }
//   c->subscribe("/queue/orders", "orders", AckMode::client_individual);   // active on return
//   if (auto sent = c->send("/queue/orders", "hello", {.persistent = true}); !sent) {
//     std::cerr << sent.error().message << '\n';   // the broker's ERROR, or a timeout
//   }
//   if (auto m = c->receive(std::chrono::seconds(1))) {
//     std::cout << m->body << '\n';
//     c->ack(*m);
//   }
//   c->disconnect();   // DISCONNECT with a receipt: everything sent before it was processed
//
// TLS: set ConnectOptions::tls (TlsOptions below) for a `stomp+ssl://` connector:
//   SyncClient::connect("broker.example", 61617, {.tls = TlsOptions{.trusted_cas = "ca.pem"}});
//
// Waiting. A SyncClient owns a private event loop and runs it only inside its own
// calls; there is no background thread. Every call that waits is bounded: by its
// timeout argument, or else by ConnectOptions::timeout (set_timeout() changes it).
// A call that runs out of time returns Errc::timeout; the connection stays usable.
//
// Errors. Calls return Result<T> (std::expected<T, twinmq::Error>): Error::code is a
// client::Errc, Error::message a sentence to show a person. An ERROR frame from the
// broker fails the call that is waiting (Errc::server_error, message = the frame's
// `message` header, then its body on the next line) and is kept in last_error().
// Brokers close the connection after an ERROR; later calls return
// Errc::connection_closed carrying the same text.
//
// Receipts. send(), subscribe(), begin()/commit()/abort() and disconnect() ask for
// a RECEIPT and wait for it by default, so "returned ok" means "the broker has
// processed it" (for a persistent send to twinmq: stored). SendOptions::receipt =
// false makes send() fire-and-forget: it returns once the bytes are on the socket.
//
// Threads. One thread at a time per SyncClient; separate SyncClients are independent.
//
// Duplicate detection: with ConnectOptions::duplicate_ids every SEND carries
// `_AMQ_DUPL_ID` (a prefix unique to the client object, a colon, the SEND's number),
// ActiveMQ Artemis's header: a broker that detects duplicates (twinmq, Artemis) stores
// a SEND that arrives twice with the same id only once. Off by default for SyncClient,
// on for FailoverClient (whose re-sends after a failover keep their ids). A SEND whose
// SendOptions::headers already has `_AMQ_DUPL_ID` keeps that value: an application with
// a business key may use it instead.
//
// Failover: a SyncClient talks to one broker. For a master/slave pair use
// FailoverClient (twinmq/failover.h): the same calls, driven by an ActiveMQ
// `failover:(tcp://a:61613,tcp://b:61614)?...` URI; on a lost connection it
// reconnects, re-subscribes and re-sends every SEND that had no RECEIPT yet.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "stomp/frame.h"

namespace twinmq::client {

enum class Errc {
  ok = 0,
  resolve_failed,     // the host name does not resolve
  connect_failed,     // TCP connect refused / unreachable
  timeout,            // the deadline passed before the answer came
  server_error,       // the broker answered with an ERROR frame
  connection_closed,  // the connection is gone (message says why)
  protocol_error,     // the broker sent bytes that are not STOMP
  bad_argument,       // the call cannot be expressed (e.g. NACK on STOMP 1.0), bad URI
  // FailoverClient only (twinmq/failover.h):
  reconnect_exhausted,      // maxReconnectAttempts passed without a connection
  transaction_rolled_back,  // a failover ended the transaction; its work did not happen
  outcome_unknown,          // the connection broke before the COMMIT's RECEIPT
};

// The SEND header that names a message for duplicate detection (see above).
inline constexpr std::string_view kDuplicateIdHeader = "_AMQ_DUPL_ID";

// Short text per code ("timed out", ...).
std::string_view errc_summary(Errc code);

using Headers = std::vector<std::pair<std::string, std::string>>;

// The first header named `name` (STOMP: the first of repeated headers wins).
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

enum class AckMode { auto_ack, client, client_individual };
std::string_view ack_mode_name(AckMode mode);  // "auto" | "client" | "client-individual"

// TLS to a `stomp+ssl://` connector, from PEM files. The broker's certificate must
// chain to `trusted_cas` and name the host connected to (a DNS name, or an IP address
// when the host is one). `certificate` and `private_key` (unencrypted PEM) are this
// client's own, for a connector with needClientAuth: give both or neither. TLS 1.2 and
// 1.3 only, with the broker's own policy (tls/context.h). A file that is missing or
// holds no certificate/key fails the connect with Errc::bad_argument naming it.
struct TlsOptions {
  std::string trusted_cas;
  std::string certificate{};
  std::string private_key{};
};

struct ConnectOptions {
  std::string accept_version = "1.0,1.1,1.2";
  std::string virtual_host{};           // `host` header; empty = the host given to connect()
  std::string login{};                  // sent only when non-empty
  std::string passcode{};
  std::uint32_t heart_beat_send_ms = 0;  // cx: we can send a beat this often (0 = never)
  std::uint32_t heart_beat_recv_ms = 0;  // cy: we want one this often (0 = never)
  std::string client_id{};              // `client-id` (ActiveMQ durable topic subscriptions)
  Headers headers{};                    // extra CONNECT headers
  std::chrono::milliseconds timeout{5000};  // connect, and the default for every call
  // Give every SEND an `_AMQ_DUPL_ID` (duplicate detection, above). Unset: off for
  // SyncClient, on for FailoverClient.
  std::optional<bool> duplicate_ids{};
  // Set: SyncClient::connect speaks TLS. FailoverClient speaks TLS to its `ssl://` and
  // `stomp+ssl://` members (which need it) and plain TCP to `tcp://`/`stomp://` ones.
  std::optional<TlsOptions> tls{};
};

struct SendOptions {
  Headers headers{};            // extra headers (e.g. priority, expires, reply-to)
  bool persistent = false;    // `persistent:true`
  bool receipt = true;        // wait until the broker has processed it
  std::string transaction{};    // inside BEGIN/COMMIT when non-empty
};

struct AckOptions {
  std::string transaction{};    // undone by ABORT when non-empty
  bool receipt = false;       // wait until the broker has processed the ACK/NACK
};

// Any frame from the broker, copied out of the read buffer.
struct ReceivedFrame {
  stomp::Command command = stomp::Command::unknown;
  Headers headers{};
  std::string body;
  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

// A MESSAGE, with the headers the client needs pulled out.
struct ReceivedMessage {
  Headers headers{};
  std::string body;
  std::string destination;
  std::string message_id;
  std::string ack_id;        // the `ack` header (STOMP 1.2), else message-id
  std::string subscription;
  bool redelivered = false;  // `redelivered:true`
  std::uint64_t connection = 1;  // FailoverClient: which connection delivered it (1, 2, ...)
  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

class SyncSession;

class SyncClient {
 public:
  // Resolves host, connects, sends CONNECT and waits for CONNECTED (or ERROR, or
  // the deadline in options.timeout).
  static Result<SyncClient> connect(const std::string& host, std::uint16_t port,
                                    ConnectOptions options = {});

  SyncClient(SyncClient&&) noexcept;
  SyncClient& operator=(SyncClient&&) noexcept;
  // Without disconnect() first, the TCP connection is simply closed (the broker
  // then redelivers what this client had not acknowledged).
  ~SyncClient();

  Result<void> send(std::string_view destination, std::string_view body,
                    const SendOptions& options = {});

  // With a receipt: the subscription is active when this returns.
  Result<void> subscribe(std::string_view destination, std::string_view id,
                         AckMode ack = AckMode::auto_ack, const Headers& headers = {});
  Result<void> unsubscribe(std::string_view id);

  // The next MESSAGE (from any subscription), or nullopt after `timeout` or once
  // the connection is closed and nothing is left. Other frames stay for read_frame().
  std::optional<ReceivedMessage> receive(std::chrono::milliseconds timeout);

  // ACK/NACK with the ids the negotiated version wants: 1.2 `id` (the MESSAGE's
  // `ack` header); 1.1 `message-id` + `subscription`; 1.0 `message-id` (no NACK).
  Result<void> ack(const ReceivedMessage& message, const AckOptions& options = {});
  Result<void> nack(const ReceivedMessage& message, const AckOptions& options = {});

  Result<void> begin(std::string_view transaction);
  Result<void> commit(std::string_view transaction);
  Result<void> abort(std::string_view transaction);

  // Writes bytes as they are (protocol tests); returns once they are on the socket.
  Result<void> send_raw(std::string_view bytes);
  // The next frame of any kind (MESSAGE, RECEIPT the client did not ask for,
  // ERROR), in arrival order, or nullopt after `timeout` / when closed and empty.
  std::optional<ReceivedFrame> read_frame(std::chrono::milliseconds timeout);

  // DISCONNECT with a receipt, then waits for the broker to close.
  Result<void> disconnect();

  bool is_closed();
  bool wait_closed(std::chrono::milliseconds timeout);
  // The ERROR frame (or close reason) that ended the connection, if any.
  std::optional<Error> last_error() const;

  stomp::Version version() const;     // negotiated
  std::string_view session() const;   // CONNECTED `session`
  std::string_view server() const;    // CONNECTED `server`
  std::uint32_t heart_beat_send_ms() const;    // what we actually send (0 = none)
  std::uint32_t heart_beat_expect_ms() const;  // what we expect from the broker

  void set_timeout(std::chrono::milliseconds timeout);

 private:
  explicit SyncClient(std::unique_ptr<SyncSession> session);
  std::unique_ptr<SyncSession> session_;
};

}  // namespace twinmq::client
