#include "tls/context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace twinmq::tls {
namespace {

// TLS 1.2 suites: ECDHE (forward secrecy) with AEAD only — Mozilla's "intermediate"
// list without finite-field DHE.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// TLS 1.3: OpenSSL's three defaults, AES-128-GCM first (as fast as 256 where AES-NI is
// there, and the cheaper one where it is not).
constexpr const char* kTls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// fopen first: OpenSSL's own message for a missing file ("system library") says less
// than errno does.
std::string unreadable(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return std::strerror(errno);
  std::fclose(f);
  return {};
}

std::unexpected<Error> fail(ContextErrc code, std::string what) { return make_error(code, std::move(what)); }

std::unexpected<Error> file_fail(ContextErrc code, const char* kind, const std::string& path,
                                 const std::string& why) {
  return fail(code, std::string("cannot use ") + kind + " '" + path + "': " + why);
}

}  // namespace

std::string take_openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A000086:SSL routines::certificate verify failed" -> the reason after the last ':'.
    const char* reason = std::strrchr(buf, ':');
    if (!out.empty()) out += "; ";
    out += reason != nullptr && reason[1] != '\0' ? reason + 1 : buf;
  }
  return out;
}

Result<std::shared_ptr<Context>> Context::create(Role role, const ContextFiles& files, ClientAuth client_auth) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(role == Role::server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return fail(ContextErrc::internal, "cannot create a TLS context: " + take_openssl_errors());
  std::shared_ptr<Context> out(new Context(ctx, role));

  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 || SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1)
    return fail(ContextErrc::internal, "cannot set the TLS cipher suites: " + take_openssl_errors());
  if (role == Role::server) {
    // No resumption: TLS 1.2 session ids and TLS 1.3 tickets would both need state or
    // ticket keys we would have to rotate; a broker's connections are long-lived.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
  }

  const bool has_cert = !files.certificate.empty(), has_key = !files.private_key.empty();
  if (role == Role::server && !has_cert)
    return fail(ContextErrc::certificate, "a TLS server needs a certificate (a PEM file)");
  if (has_cert != has_key)
    return fail(has_cert ? ContextErrc::private_key : ContextErrc::certificate,
                "certificate and privateKey go together (give both or neither)");
  if (has_cert) {
    if (auto why = unreadable(files.certificate); !why.empty())
      return file_fail(ContextErrc::certificate, "certificate file", files.certificate, why);
    if (SSL_CTX_use_certificate_chain_file(ctx, files.certificate.c_str()) != 1)
      return file_fail(ContextErrc::certificate, "certificate file", files.certificate,
                       "no PEM certificate in it (" + take_openssl_errors() + ")");
    if (auto why = unreadable(files.private_key); !why.empty())
      return file_fail(ContextErrc::private_key, "private key file", files.private_key, why);
    if (SSL_CTX_use_PrivateKey_file(ctx, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
      // OpenSSL compares the key with the certificate as it loads it.
      const std::string why = take_openssl_errors();
      if (why.find("key values mismatch") != std::string::npos)
        return fail(ContextErrc::key_mismatch, "private key '" + files.private_key + "' does not match certificate '" +
                                                   files.certificate + "' (" + why + ")");
      return file_fail(ContextErrc::private_key, "private key file", files.private_key,
                       "no unencrypted PEM private key in it (" + why + ")");
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
      return fail(ContextErrc::key_mismatch, "private key '" + files.private_key + "' does not match certificate '" +
                                                 files.certificate + "' (" + take_openssl_errors() + ")");
  }

  const bool checks_peer = role == Role::client || client_auth != ClientAuth::none;
  if (checks_peer && files.trusted_cas.empty())
    return fail(ContextErrc::trusted_cas, role == Role::client
                                              ? "a TLS client needs trustedCAs to check the server's certificate"
                                              : "needClientAuth/wantClientAuth need trustedCAs (the CA certificates "
                                                "client certificates must be signed by)");
  if (!files.trusted_cas.empty()) {
    if (auto why = unreadable(files.trusted_cas); !why.empty())
      return file_fail(ContextErrc::trusted_cas, "trustedCAs file", files.trusted_cas, why);
    if (SSL_CTX_load_verify_locations(ctx, files.trusted_cas.c_str(), nullptr) != 1)
      return file_fail(ContextErrc::trusted_cas, "trustedCAs file", files.trusted_cas,
                       "no PEM certificate in it (" + take_openssl_errors() + ")");
    if (role == Role::server) {
      // Tells clients which CAs we accept, so one with several certificates picks right.
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.trusted_cas.c_str()))
        SSL_CTX_set_client_CA_list(ctx, names);
    }
  }
  int mode = SSL_VERIFY_NONE;
  if (role == Role::client || client_auth == ClientAuth::want) mode = SSL_VERIFY_PEER;
  if (role == Role::server && client_auth == ClientAuth::need)
    mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, mode, nullptr);
  return out;
}

Context::~Context() { SSL_CTX_free(ctx_); }

}  // namespace twinmq::tls
