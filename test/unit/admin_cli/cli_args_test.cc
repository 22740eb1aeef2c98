// twinmq-admin's command line (admin_cli/cli_args.h): every command's operands, the
// options in either place, URLs as users type them, and each bad input's message.
#include <doctest.h>

#include <initializer_list>

#include "admin_cli/cli_args.h"
#include "admin_cli/http_call.h"

using namespace twinmq;
using namespace twinmq::admin_cli;

namespace {

Result<CliOptions> parse(std::initializer_list<std::string_view> args,
                         std::optional<std::string> env = std::nullopt) {
  std::vector<std::string_view> v(args);
  return parse_args(v, std::move(env));
}

std::string error_of(const Result<CliOptions>& r) { return r ? std::string() : r.error().message; }

}  // namespace

TEST_CASE("cli: commands and their operands") {
  auto s = parse({"status"});
  REQUIRE(s.has_value());
  CHECK(s->command == Command::status);
  CHECK_FALSE(s->json);
  auto j = parse({"--json", "status"});
  REQUIRE(j.has_value());
  CHECK(j->json);
  auto m = parse({"move", "a", "b", "--limit", "5"});
  REQUIRE(m.has_value());
  CHECK(m->command == Command::move);
  CHECK(m->args == std::vector<std::string>{"a", "b"});
  CHECK(m->limit == 5);
  auto b = parse({"browse", "q"});
  REQUIRE(b.has_value());
  CHECK(b->limit == 20);  // browse's default
  auto c = parse({"check", "in-sync"});
  REQUIRE(c.has_value());
  CHECK(c->command == Command::check);
  CHECK(parse({"--help"})->command == Command::help);
  CHECK(parse({"await-sync", "--timeout=7"})->timeout_s == 7);
}

TEST_CASE("cli: stop --drain: alone 30 s, with a number, or with --timeout") {
  CHECK(parse({"stop"})->drain_s == 0);
  CHECK(parse({"stop", "--drain"})->drain_s == 30);
  CHECK(parse({"stop", "--drain", "12"})->drain_s == 12);
  CHECK(parse({"stop", "--drain=9"})->drain_s == 9);
  CHECK(parse({"stop", "--drain", "--timeout", "45"})->drain_s == 45);
  CHECK(parse({"--drain", "--timeout", "45", "stop"})->drain_s == 45);
  CHECK(error_of(parse({"purge", "q", "--drain"})) == "--drain belongs to 'stop'");
}

TEST_CASE("cli: bad command lines say what was wrong") {
  CHECK(error_of(parse({})) == "no command given");
  CHECK(error_of(parse({"frob"})) == "unknown command 'frob'");
  CHECK(error_of(parse({"purge"})) == "'purge' takes 1 operand(s), got 0");
  CHECK(error_of(parse({"move", "a"})) == "'move' takes 2 operand(s), got 1");
  CHECK(error_of(parse({"check", "alive"})) == "check takes live, ready or in-sync, got 'alive'");
  CHECK(error_of(parse({"--bogus", "status"})) == "unknown option '--bogus'");
  CHECK(error_of(parse({"status", "--url"})) == "--url needs a value");
  CHECK(error_of(parse({"browse", "q", "--limit", "x"})) == "--limit takes a whole number from 0 to 1000000, got 'x'");
  CHECK(error_of(parse({"browse", "q", "--limit", "0"})) == "browse --limit must be 1 or more");
  CHECK(error_of(parse({"status", "--password", "p"})) == "a password was given without --user");
  CHECK(error_of(parse({"status", "--user", "u", "--password", "p", "--password-file", "f"})) ==
        "give --password or --password-file, not both");
}

TEST_CASE("cli: the password from the environment; on the command line it is flagged") {
  auto env = parse({"--user", "ops", "purge", "q"}, std::string("s3cret"));
  REQUIRE(env.has_value());
  CHECK(env->password == std::optional<std::string>("s3cret"));
  CHECK_FALSE(env->password_on_command_line);
  auto cmd = parse({"--user", "ops", "--password", "pw", "purge", "q"});
  REQUIRE(cmd.has_value());
  CHECK(cmd->password_on_command_line);
  // An environment password without --user is simply unused (the variable may be set globally).
  CHECK(parse({"status"}, std::string("x")).has_value());
}

TEST_CASE("cli: URLs as users type them") {
  CHECK(normalise_url("http://127.0.0.1:8162") == std::string("http://127.0.0.1:8162"));
  CHECK(normalise_url("127.0.0.1:8162") == std::string("http://127.0.0.1:8162"));
  CHECK(normalise_url("http://localhost:8162/") == std::string("http://localhost:8162"));
  CHECK(normalise_url("http://[::1]:8162") == std::string("http://[::1]:8162"));
  CHECK(parse({"--url", "localhost:9", "status"})->url == "http://localhost:9");
  auto bad = [](std::string_view u) {
    auto r = normalise_url(u);
    return r ? std::string() : r.error().message;
  };
  CHECK(normalise_url("https://10.213.0.1:8162/") == std::string("https://10.213.0.1:8162"));
  CHECK(normalise_url("https://[::1]:8162") == std::string("https://[::1]:8162"));
  CHECK(bad("stomp://h:1").find("http://host:port or https://host:port") != std::string::npos);
  CHECK(bad("https://h:1/status").find("not a path") != std::string::npos);
  CHECK(bad("http://h:1/status").find("not a path") != std::string::npos);
  CHECK(bad("http://h").find("no port") != std::string::npos);
  CHECK(bad("http://:8162").find("no host") != std::string::npos);
  CHECK(bad("http://h:0").find("1 to 65535") != std::string::npos);
  CHECK(bad("http://h:70000").find("1 to 65535") != std::string::npos);
  CHECK(bad("http://[::1:8162").find("closing ']'") != std::string::npos);
  CHECK(url_of("::1", 8162) == "http://[::1]:8162");
  CHECK(url_of("127.0.0.1", 1) == "http://127.0.0.1:1");
  CHECK(url_of("10.213.0.1", 8162, true) == "https://10.213.0.1:8162");
  CHECK(parse({"--url", "https://b1:8162", "--cacert", "/etc/ca.pem", "status"})->cacert == "/etc/ca.pem");
  CHECK(parse({"--cacert=", "status"}).error().message == "--cacert needs a file name");
}

TEST_CASE("cli: queue names as the API's path segment names them") {
  CHECK(queue_segment("orders") == "orders");
  CHECK(queue_segment("/queue/orders") == "orders");
  CHECK(queue_segment("/queue/a/b") == "a%2Fb");
  CHECK(queue_segment("/temp-queue/x") == "%2Ftemp-queue%2Fx");
  CHECK(queue_segment("a b?c") == "a%20b%3Fc");
  CHECK(percent_encode("orders.eu-1_~") == "orders.eu-1_~");
}
