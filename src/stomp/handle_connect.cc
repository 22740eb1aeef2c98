// stomp/handle_connect.cc — CONNECT / STOMP: version, heart-beats, login, CONNECTED.
//
// Login (README "Security"), in order:
//  1. No users configured: everyone is "anonymous" (the configuration allows that only
//     on loopback connectors, or with anonymousAccessAllowed="true").
//  2. The peer's address has too many recent failures (auth/login_limiter.h): refused
//     without looking at the password.
//  3. No login header and anonymousAccessAllowed="true": "anonymous".
//  4. The password: plain text is compared here (constant time, no cost); a crypt(3)
//     hash is checked on a worker (auth/password_check.h) while this session waits in
//     awaiting_login. An unknown user is checked against the decoy hash all the same,
//     so the answer takes as long as for a wrong password.
// Every failure is logged with the user, the peer and the reason, and counted against
// the peer's address; the client only hears "user name or password is not valid".
#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "stomp/frame_writer.h"
#include "stomp/handlers.h"
#include "stomp/negotiate.h"
#include "stomp/server.h"
#include "stomp/session.h"

namespace twinmq::stomp {

Result<Seq> Session::handle_connect(const Frame& frame) {
  const ServerOptions& opts = server_.options();
  auto version = negotiate_version(frame.header("accept-version"));
  if (!version) return std::unexpected(version.error());

  ConnectRequest request;
  request.version = *version;
  if (auto hb = frame.header("heart-beat")) {
    auto parsed = parse_heart_beat(*hb);
    if (!parsed) return std::unexpected(parsed.error());
    request.theirs = *parsed;
  }
  request.client_id = frame.header("client-id").value_or("");
  const auto login = frame.header("login");
  request.login = login.value_or("");

  auth::Security* security = opts.security;
  // 1.
  if (security == nullptr || !security->users_configured())
    return finish_connect(request, std::string(auth::kAnonymousUser), {std::string(auth::kAnonymousGroup)});
  // 2.
  const std::string_view address = auth::peer_host(peer_);
  if (const std::int64_t wait_ms = security->limiter().blocked_for(address, mono_ms()); wait_ms > 0) {
    const std::int64_t seconds = (wait_ms + 999) / 1000;
    spdlog::warn("[event=login_failed reason=rate_limited] connection {} from {}: login as user '{}' refused "
                 "without a check: too many failed logins from {}, retry in {} s",
                 number_, peer_, shown(request.login), address, seconds);
    return make_error(ProtocolErrc::login_rate_limited,
                      "too many failed logins, retry in " + std::to_string(seconds) + "s");
  }
  // 3.
  if (!login && security->anonymous_allowed())
    return finish_connect(request, std::string(auth::kAnonymousUser), {std::string(auth::kAnonymousGroup)});
  // 4.
  std::string passcode(frame.header("passcode").value_or(""));
  const auth::UserAccount* account = login ? security->find(*login) : nullptr;
  const auth::StoredPassword& stored = account != nullptr ? account->password : security->decoy();
  connect_request_ = std::move(request);
  if (!stored.hashed()) {
    on_password_checked(account != nullptr, stored.verify(passcode));
    return Seq{0};
  }
  state_ = State::awaiting_login;
  set_paused(kLoginCheck, true);
  const bool known = account != nullptr;
  password_check_ = auth::PasswordCheck::start(server_.loop(), stored, std::move(passcode), [this, known](bool ok) {
    password_check_ = nullptr;
    if (state_ == State::awaiting_login) on_password_checked(known, ok);  // not if closing meanwhile
  });
  return Seq{0};
}

void Session::on_password_checked(bool known_user, bool password_ok) {
  auth::Security& security = *server_.options().security;
  const std::string_view address = auth::peer_host(peer_);
  const bool waited = state_ == State::awaiting_login;
  if (!known_user || !password_ok) {
    security.limiter().failed(address, mono_ms());
    login_failed(!known_user ? (connect_request_.login.empty() ? "no_credentials" : "unknown_user")
                             : "wrong_password");
    return;
  }
  security.limiter().succeeded(address);
  const auth::UserAccount* account = security.find(connect_request_.login);
  auto done = finish_connect(connect_request_, account->name, account->groups);
  if (!done) {
    fail(done.error(), nullptr);
    return;
  }
  if (!waited) return;  // checked inline: handle_connect's caller goes on parsing
  // Parse what came after the CONNECT, with the version it negotiated.
  set_paused(kLoginCheck, false);
  std::string held = std::move(held_after_connect_);
  if (!held.empty()) on_data(held);
}

void Session::login_failed(std::string_view reason) {
  const std::string& login = connect_request_.login;
  spdlog::warn("[event=login_failed reason={}] connection {} from {}: login failed for user '{}'", reason, number_,
               peer_, shown(login));
  const bool waited = state_ == State::awaiting_login;
  if (waited) state_ = State::awaiting_connect;  // fail() writes the ERROR from here
  Error error = make_error(ProtocolErrc::not_authorized,
                           login.empty() ? std::string("this broker requires a login and passcode")
                                         : "user name or password is not valid (user '" + printable(login) + "')")
                    .error();
  fail(error, nullptr);
}

Result<Seq> Session::finish_connect(const ConnectRequest& request, std::string user, std::vector<std::string> groups) {
  const ServerOptions& opts = server_.options();
  user_ = std::move(user);
  groups_ = std::move(groups);
  version_ = request.version;
  parser_.set_version(version_);
  // 1.0 has no heart-beating: only offer it to 1.1+ clients.
  const HeartBeat ours = version_ == Version::v1_0
                             ? HeartBeat{}
                             : offer_heart_beat(opts.heart_beat_ms, opts.min_heart_beat_ms, request.theirs);
  heart_beat_ = version_ == Version::v1_0 ? HeartBeatPlan{} : plan_heart_beat(ours, request.theirs);

  conn_id_ = broker_.attach(*this, request.client_id);
  state_ = State::connected;

  const std::string session_id = opts.server_name + "-" + std::to_string(number_);
  FrameWriter w(conn_->output(), version_, Command::connected);
  w.header("version", version_name(version_));
  w.header("server", opts.server_name + "/" TWINMQ_VERSION);
  w.header("session", session_id);
  if (version_ != Version::v1_0) {
    w.header("heart-beat", std::to_string(ours.can_send_ms) + "," + std::to_string(ours.want_recv_ms));
  }
  w.finish({}, false);
  written();
  spdlog::info("connection {} from {}: connected as user '{}', STOMP {}, heart-beat send {} ms / expect {} ms{}{}",
               number_, peer_, shown(user_), version_name(version_), heart_beat_.send_every_ms,
               heart_beat_.expect_every_ms, request.client_id.empty() ? "" : ", client-id ",
               printable(request.client_id));
  return Seq{0};
}

}  // namespace twinmq::stomp
