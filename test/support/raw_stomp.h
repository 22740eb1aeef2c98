// test/support/raw_stomp.h — a blocking STOMP test client that speaks raw bytes.
//
// RawStomp sends exactly the bytes a test gives it (so tests can send malformed
// frames, odd escapes, CRLF, split writes) and reads frames back through the
// product's own FrameParser (stomp_codec), switching the parser's escaping rules to
// the version announced in CONNECTED. Every read has a deadline; a test never hangs
// on a broker that stays silent, it fails with a message saying what it waited for.
//
// Frames that arrive while the client waits for something else (a RECEIPT, say)
// are kept, in order, and returned by the next next_frame().
//
// Lifecycle: owned by one test; test thread only (one RawStomp per thread when a
// test reads two connections concurrently). The socket is closed in the destructor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace twinmq::test {

using Ms = std::chrono::milliseconds;
using KeyValues = std::vector<std::pair<std::string, std::string>>;

// How long a test waits for something that should come promptly (a RECEIPT, a
// MESSAGE, an ERROR). Generous: it bounds failures, it is not a timing assertion.
inline constexpr Ms kWait{5000};

struct ReceivedFrame {
  std::string command;
  KeyValues headers;  // unescaped per the negotiated version, in received order
  std::string body;

  // First occurrence wins, as the spec says.
  std::optional<std::string> header(std::string_view name) const;
  // Value of the first occurrence, "" when absent.
  std::string operator[](std::string_view name) const { return header(name).value_or(""); }
  bool has(std::string_view name) const { return header(name).has_value(); }
  std::size_t count(std::string_view name) const;
  // "MESSAGE{destination:/queue/a, ...} body[5]='hello'" (control bytes as \xHH).
  std::string describe() const;
};

// Raw frame bytes: command, headers exactly as given (no escaping), optional
// content-length, blank line, body, NUL.
std::string frame_bytes(std::string_view command, const KeyValues& headers = {},
                        std::string_view body = {}, bool content_length = true);

// Thrown when the broker does not answer as the test needs to go on (the message
// says what was expected and what came); doctest reports it as the failure.
struct StompFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// TLS for a stomp+ssl:// connector (OpenSSL over the same non-blocking socket).
struct TlsClientFiles {
  std::string trusted_cas;   // PEM: the CA the broker's certificate must chain to
  std::string certificate;   // PEM: our certificate (needClientAuth), "" = none
  std::string private_key;   // PEM: its key
  std::string verify_host = "127.0.0.1";  // the name or address the broker's certificate must carry
};

struct RawStompOptions {
  int receive_buffer = 0;  // SO_RCVBUF before connect (0 = system default); small = slow consumer
  Ms connect_timeout{5000};
  // Set: the handshake runs in the constructor (bounded by connect_timeout), which
  // throws StompFailure saying why when the client's side fails it. A broker that
  // refuses our certificate may let the handshake end first (TLS 1.3) and close
  // right after: closed() and close_reason() tell then.
  std::optional<TlsClientFiles> tls;
};

class RawStomp {
 public:
  explicit RawStomp(std::uint16_t port, RawStompOptions options = {});
  ~RawStomp();
  RawStomp(const RawStomp&) = delete;
  RawStomp& operator=(const RawStomp&) = delete;

  // ---- bytes ----
  // Writes all of `bytes` (reading incoming data meanwhile, so a broker that writes
  // to us while we write to it cannot deadlock us). False when the broker closed or
  // reset the connection (or the deadline passed) before everything was written.
  bool send_raw(std::string_view bytes, Ms timeout = Ms(10'000));
  // The next frame; nullopt when the connection closed or the timeout passed first
  // (closed() tells which). Throws StompFailure when the bytes do not parse.
  std::optional<ReceivedFrame> next_frame(Ms timeout = kWait);
  // The next frame, which must be `command`; throws StompFailure otherwise.
  ReceivedFrame expect(std::string_view command, Ms timeout = kWait);
  // True when the broker closes the connection (EOF or reset) within `timeout`.
  // Frames that arrive before the close are kept for next_frame().
  bool wait_closed(Ms timeout = kWait);
  bool closed() const { return closed_; }
  std::string_view close_reason() const { return close_reason_; }

  // EOL heart-beats received so far, and the raw bytes received (capped at 4 MiB).
  std::size_t heartbeats() const { return heartbeats_; }
  // Reads until `n` heart-beats have been received in all (true) or the timeout
  // passes or the connection closes (false). Frames received meanwhile are kept.
  bool wait_heartbeats(std::size_t n, Ms timeout);
  const std::string& received_bytes() const { return raw_; }

  // ---- STOMP helpers ----
  // Sends CONNECT (accept-version omitted when empty: a 1.0 client) plus `extra`
  // headers and returns the CONNECTED frame; throws StompFailure on anything else.
  ReceivedFrame connect(std::string_view accept_version = "1.2", const KeyValues& extra = {},
                        std::string_view command = "CONNECT");
  // Like connect() but returns whatever frame answers (ERROR tests).
  std::optional<ReceivedFrame> try_connect(std::string_view accept_version, const KeyValues& extra = {});

  void send_frame(std::string_view command, const KeyValues& headers = {}, std::string_view body = {},
                  bool content_length = true);
  // Sends the frame with a fresh `receipt` header and waits for its RECEIPT (frames
  // arriving first are kept). Throws StompFailure on ERROR, close or timeout.
  ReceivedFrame request(std::string_view command, KeyValues headers = {}, std::string_view body = {},
                        Ms timeout = kWait);

  // SEND with a receipt (synchronous), and SUBSCRIBE with a receipt.
  void send(std::string_view destination, std::string_view body, KeyValues headers = {});
  void subscribe(std::string_view destination, std::string_view id, std::string_view ack = "auto",
                 KeyValues extra = {});
  // The next MESSAGE; throws StompFailure if another frame, a close or the timeout comes first.
  ReceivedFrame message(Ms timeout = kWait);
  // `n` MESSAGE frames, in arrival order.
  std::vector<ReceivedFrame> messages(std::size_t n, Ms timeout = kWait);

  // Barrier: sends a no-op frame with a receipt (a SEND to a topic nobody subscribes
  // to) and returns every frame that arrived before its RECEIPT. Whatever the broker
  // decided to deliver to us before it handled the barrier is in the result.
  std::vector<ReceivedFrame> sync();

  std::string next_receipt_id();
  std::string_view version() const { return version_; }

 private:
  // One read (bounded by `timeout_ms`) fed to the parser; false on timeout or close.
  bool read_some(int timeout_ms);
  void feed(std::string_view bytes);

  void start_tls(const TlsClientFiles& files, Ms timeout);
  // One OpenSSL call's failure, as text ("tlsv13 alert certificate required").
  std::string tls_failure(int ret);

  int fd_ = -1;
  struct TlsBox;
  std::unique_ptr<TlsBox> tls_;
  struct ParserBox;
  std::unique_ptr<ParserBox> parser_;
  std::deque<ReceivedFrame> inbox_;
  std::string raw_;
  std::string version_ = "1.0";
  std::string close_reason_;
  std::size_t heartbeats_ = 0;
  std::uint64_t receipts_ = 0;
  bool closed_ = false;
};

}  // namespace twinmq::test
