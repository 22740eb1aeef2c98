// tls/context.h — TLS for twinmq's sockets: OpenSSL (Debian's libssl) driven through
// memory BIOs on the libuv loop (no thread, no blocking call, no socket inside OpenSSL).
//
// DESIGN
//  - Context: one SSL_CTX built from PEM files (the <sslContext> element: certificate,
//    privateKey, trustedCAs; README "TLS"), for one role (server: connectors; client:
//    tools, the bench). Everything that can be wrong with the files is found here, at
//    start-up: a missing or unreadable file, a file with no PEM certificate or key, a key
//    that does not match the certificate, a CA file with no certificate. The Error names
//    which file (ContextErrc) so the config loader can point at that attribute's line.
//  - Engine (tls/engine.h): one SSL per connection over two memory BIOs; net::TcpConnection
//    feeds it the ciphertext it reads and writes the ciphertext it produces.
//  - Policy, in one place (make_ctx in context.cc): TLS 1.2 and 1.3 only; for TLS 1.2 only
//    ECDHE key exchange with AEAD ciphers (forward secrecy; no CBC, RSA key transport or
//    SHA-1 MACs); TLS 1.3's defaults; no renegotiation, no compression, no session tickets
//    (nothing to rotate, every connection is a full handshake).
//
// Lifecycle: created at start-up (and once by the config loader, to check the files),
// owned by app::Runtime and outliving every connection that uses it. The SSL_CTX is
// reference-counted by OpenSSL, so an Engine keeps it alive too. Loop thread only.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace twinmq::tls {

// Which file (or pair) an error is about: the loader reports it at that attribute.
enum class ContextErrc { ok = 0, certificate, private_key, key_mismatch, trusted_cas, internal };

// Whether a server asks clients for a certificate (ActiveMQ's needClientAuth/wantClientAuth).
enum class ClientAuth {
  none,  // no client certificate asked for
  want,  // asked for; a client without one is let in, one that sends a bad one is refused
  need,  // required and checked against trustedCAs: a client without a good one is refused
};

struct ContextFiles {
  std::string certificate;   // PEM: this side's certificate (then any intermediates)
  std::string private_key;   // PEM: its private key (unencrypted)
  std::string trusted_cas;   // PEM: CA certificates the peer's certificate must chain to ("" = none)
};

enum class Role { server, client };

class Context {
 public:
  // Server: certificate and private_key are required; trusted_cas is required for
  // ClientAuth::want/need. Client: certificate/private_key optional (mutual TLS), and
  // trusted_cas required (a client that trusts nobody cannot check the server).
  static Result<std::shared_ptr<Context>> create(Role role, const ContextFiles& files,
                                                 ClientAuth client_auth = ClientAuth::none);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  Role role() const { return role_; }

 private:
  Context(SSL_CTX* ctx, Role role) : ctx_(ctx), role_(role) {}
  SSL_CTX* ctx_;
  Role role_;
};

// The text of OpenSSL's error queue (most recent reasons, "; "-joined), clearing it.
std::string take_openssl_errors();

}  // namespace twinmq::tls
