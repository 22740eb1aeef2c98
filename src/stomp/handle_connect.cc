// stomp/handle_connect.cc — CONNECT / STOMP: version, heart-beats, login, CONNECTED.
#include <spdlog/spdlog.h>

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

  HeartBeat theirs{};
  if (auto hb = frame.header("heart-beat")) {
    auto parsed = parse_heart_beat(*hb);
    if (!parsed) return std::unexpected(parsed.error());
    theirs = *parsed;
  }

  if (!opts.users.empty()) {
    const auto login = frame.header("login").value_or("");
    const auto passcode = frame.header("passcode").value_or("");
    bool ok = false;
    for (const auto& [user, password] : opts.users) {
      if (user == login && password == passcode) ok = true;
    }
    if (!ok) {
      spdlog::warn("connection {} from {}: authentication failed for user '{}'", number_, peer_,
                   printable(login));
      return make_error(ProtocolErrc::not_authorized,
                        "user name or password is not valid (user '" + printable(login) + "')");
    }
  }

  version_ = *version;
  parser_.set_version(version_);
  // 1.0 has no heart-beating: only offer it to 1.1+ clients.
  const HeartBeat ours =
      version_ == Version::v1_0 ? HeartBeat{} : offer_heart_beat(opts.heart_beat_ms, opts.min_heart_beat_ms, theirs);
  heart_beat_ = version_ == Version::v1_0 ? HeartBeatPlan{} : plan_heart_beat(ours, theirs);

  const auto client_id = frame.header("client-id").value_or("");
  conn_id_ = broker_.attach(*this, client_id);
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
  spdlog::info("connection {} from {}: connected, STOMP {}, heart-beat send {} ms / expect {} ms{}{}",
               number_, peer_, version_name(version_), heart_beat_.send_every_ms,
               heart_beat_.expect_every_ms, client_id.empty() ? "" : ", client-id ",
               printable(client_id));
  return Seq{0};
}

}  // namespace twinmq::stomp
