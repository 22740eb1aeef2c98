// admin_cli/cli_args.h — the command line of twinmq-admin (README "twinmq-admin"):
// which command, which endpoint, which credentials. Pure: no files, no network, no
// environment (the caller passes TWINMQ_ADMIN_PASSWORD's value), so every bad input
// has a unit test (test/unit/admin_cli/cli_args_test.cc).
//
// DESIGN
//  - twinmq-admin [OPTIONS] COMMAND [ARGS]; options may come before or after the
//    command. The endpoint is --url http(s)://host:port, or the <managementContext> of
//    --config FILE (read by main.cc), or http://127.0.0.1:8162 (the default one).
//  - https://: the endpoint's certificate is checked against --cacert FILE, else (with
//    --config) the file's <sslContext trustedCAs>, else the system's CA store.
//  - The password comes from TWINMQ_ADMIN_PASSWORD or --password-file; --password on
//    the command line is accepted but warned about (other local users can read it in
//    the process list).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace twinmq::admin_cli {

enum class CliErrc { ok = 0, usage, bad_url };

// The exit codes of twinmq-admin: `check` and `await-sync` answer like monitoring
// plug-ins (0 ok, 1 warning, 2 critical); other commands 0 on success, 2 when the
// endpoint refused or could not be reached, 64 for a bad command line.
enum class Exit : int { ok = 0, warning = 1, critical = 2, usage = 64 };

enum class Command { status, dstat, browse, purge, move, check, await_sync, stop, help };

struct CliOptions {
  Command command = Command::help;
  std::vector<std::string> args;  // the command's operands (queue names, check kind)
  std::string url;                // normalised "http(s)://host:port" ("" = not given)
  std::string cacert;             // --cacert FILE: CA certificates (PEM) for an https:// endpoint
  std::string config_file;        // --config FILE ("" = none)
  std::string user;               // --user ("" = no credentials)
  std::optional<std::string> password;  // --password, or the environment's
  bool password_on_command_line = false;
  std::string password_file;      // --password-file FILE
  bool json = false;              // --json: print the endpoint's JSON as it is
  std::uint32_t timeout_s = 30;   // --timeout S (await-sync's wait; with stop --drain, the drain)
  std::uint32_t drain_s = 0;      // stop --drain [S] / --drain --timeout S: drain for up to S s (30 with --drain alone)
  std::uint32_t limit = 0;        // --limit N (browse: default 20; move: 0 = all)
  std::uint32_t preview = 0;      // --preview BYTES (browse; 0 = the endpoint's default)
};

// `args` without the program name; `env_password` is TWINMQ_ADMIN_PASSWORD's value.
// The error message says what was wrong and is followed by the usage text by main.
Result<CliOptions> parse_args(std::span<const std::string_view> args, std::optional<std::string> env_password);

// "http(s)://host:port" from what a user types: "http://h:p", "https://h:p", "h:p"
// (http), "http://h:p/" (a path is refused: the verbs' paths are fixed). IPv6 in
// brackets.
Result<std::string> normalise_url(std::string_view text);

// "http(s)://<host>:<port>" for a host and port.
std::string url_of(std::string_view host, std::uint16_t port, bool tls = false);

// The usage text (--help).
std::string_view usage();

}  // namespace twinmq::admin_cli
