// app/main.cc — the twinmq command line.
//
//   twinmq --config FILE [-Dname=value ...] [--log-level LEVEL]   run a broker in the foreground
//   twinmq --check-config FILE [-Dname=value ...] [--json]        validate, print problems, exit 0/2
//   twinmq verify-store [--json] DIR                               check a data directory's journal
//   twinmq verify-store [--json] --config FILE [-Dname=value ...]  the same, for the store FILE names
//   twinmq compare-stores [--json] A B                             where two stores fork, what B holds after it
//   twinmq salvage --from DIR --fork-seq N --out FILE              save DIR's forked tail (app/commands.h)
//   twinmq replay FILE --to URI [--skip N]                         send a salvage file to a broker or pair
//   twinmq status --config FILE [-Dname=value ...]                 ask the running broker for its role and link
//   twinmq switchover --config FILE [--to tcp://HOST:PORT] [--rejoin-user USER] [--timeout S]
//                                                               hand the master role to the in-sync slave
//   twinmq --version
//
// ${twinmq.base} defaults to the directory above the config file's directory (so
// conf/broker.xml in a checkout resolves to the checkout), unless -D or the
// environment (TWINMQ_BASE) sets it.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/commands.h"
#include "app/exit_codes.h"
#include "app/runtime.h"
#include "app/status_server.h"
#include "app/switchover.h"
#include "base/json_writer.h"
#include "base/log.h"
#include "config/xml_loader.h"
#include "store/verify.h"

namespace {

using namespace twinmq;

constexpr const char* kUsage =
    "usage:\n"
    "  twinmq --config FILE [-Dname=value ...] [--log-level LEVEL] [--claim-witness]\n"
    "         [--rejoin tcp://HOST:PORT|ssl://HOST:PORT [--rejoin-user USER] [--discard-forked-tail]]\n"
    "      run a broker in the foreground (SIGINT/SIGTERM stop it cleanly); --claim-witness lets a\n"
    "      master whose store is a verified copy of the last serving broker's (twinmq-resync) win\n"
    "      the pair's witness key at that epoch; --rejoin runs an old master as the slave of the\n"
    "      broker that took over (its replication listener), salvaging what it holds after the\n"
    "      fork first\n"
    "  twinmq --check-config FILE [-Dname=value ...] [--json]\n"
    "      validate a configuration; prints every problem as file:line and exits 2 if any;\n"
    "      --json also prints the broker name, dataDirectory and store directory it resolves to\n"
    "  twinmq verify-store [--json] DIR\n"
    "  twinmq verify-store [--json] --config FILE [-Dname=value ...]\n"
    "      check every journal segment's CRCs and sequence continuity; print identity, epoch,\n"
    "      first/last sequence and messages per destination; exit 1 on any problem. DIR is a\n"
    "      stopped broker's dataDirectory or its journal directory; --config FILE checks the\n"
    "      store that configuration names\n"
    "  twinmq compare-stores [--json] A B\n"
    "      where the histories of two stopped stores of one pair fork, and what B (the one a resync\n"
    "      would overwrite) holds after the fork; exit 0 nothing, 1 something (listed), 2 error\n"
    "  twinmq salvage --from DIR --fork-seq N --out FILE\n"
    "      write the messages DIR's store enqueued after seq N and still holds to FILE (STOMP frames)\n"
    "  twinmq replay FILE --to URI [--skip N] [--user NAME --password SECRET]\n"
    "      send a salvage file's messages to a broker or failover:(...) pair, each with a receipt\n"
    "  twinmq hash-password\n"
    "      print a crypt(3) yescrypt hash for <authenticationUser password=\"...\">; the password is read\n"
    "      from the terminal (no echo) or the first line of standard input, never from the command line\n"
    "  twinmq status --config FILE [-Dname=value ...]\n"
    "      ask the broker running with this configuration (over <dataDirectory>/status.sock) for its\n"
    "      role, peer, replication link state, positions, lag and whether the pair is in sync;\n"
    "      exit 1 if it cannot be reached\n"
    "  twinmq switchover --config FILE [-Dname=value ...] [--to tcp://HOST:PORT] [--rejoin-user USER]\n"
    "                    [--timeout S]\n"
    "      the broker running with this configuration hands the master role to its in-sync slave\n"
    "      (a planned stop: nothing confirmed is lost; clients fail over) and restarts as that\n"
    "      broker's slave, rejoining it at its replication listener (--to overrides where; the\n"
    "      slave tells its master otherwise); waits up to S seconds (default 60, 0: do not wait)\n"
    "      until it is in sync again; exit 0 done, 1 refused or not in sync in time\n"
    "  twinmq --version\n"
    "\n"
    "  LEVEL is trace, debug, info (default), warn, error or off.\n"
    "  -Dname=value sets ${name} in the configuration (wins over the environment).\n";

struct CommandLine {
  enum class Mode { none, run, check_config, verify_store, status, switchover, version, help } mode = Mode::none;
  std::string config_file;
  std::string store_dir;  // verify-store DIR
  bool json = false;
  config::Defines defines;
  std::string log_level = "info";
  app::RuntimeFlags flags;
  // switchover
  std::string switchover_to;
  std::string switchover_user;
  int switchover_timeout_s = 60;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "twinmq: %s\n\n%s", message.c_str(), kUsage);
  return app::kExitConfigError;
}

// Returns an exit code if parsing ends the program, -1 to go on.
int parse(int argc, char** argv, CommandLine& cl) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  // The subcommands that read a configuration share the option loop below.
  const bool status = !args.empty() && args[0] == "status";
  const bool switchover = !args.empty() && args[0] == "switchover";
  const bool verify = !args.empty() && args[0] == "verify-store";
  if (status || switchover || verify) args.erase(args.begin());
  const int shift = status || switchover || verify ? 1 : 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    auto value = [&](std::string_view flag) -> const char* {
      if (i + 1 >= args.size()) return nullptr;
      (void)flag;
      return argv[1 + shift + ++i];
    };
    if (a == "--config" || a == "--check-config") {
      const char* v = value(a);
      if (!v) return usage_error(std::string(a) + " needs a file name");
      cl.mode = a == "--config" ? CommandLine::Mode::run : CommandLine::Mode::check_config;
      cl.config_file = v;
    } else if (a.starts_with("--config=")) {
      cl.mode = CommandLine::Mode::run;
      cl.config_file = a.substr(9);
    } else if (a.starts_with("--check-config=")) {
      cl.mode = CommandLine::Mode::check_config;
      cl.config_file = a.substr(15);
    } else if (a == "--log-level") {
      const char* v = value(a);
      if (!v) return usage_error("--log-level needs a level");
      cl.log_level = v;
    } else if (a.starts_with("--log-level=")) {
      cl.log_level = a.substr(12);
    } else if (a.starts_with("-D")) {
      auto def = a.substr(2);
      auto eq = def.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return usage_error("'" + std::string(a) + "' must look like -Dname=value");
      }
      cl.defines.emplace_back(std::string(def.substr(0, eq)), std::string(def.substr(eq + 1)));
    } else if (a == "--claim-witness") {
      cl.flags.claim_witness = true;
    } else if (a == "--discard-forked-tail") {
      cl.flags.discard_forked_tail = true;
    } else if (switchover && (a == "--to" || a == "--rejoin-user" || a == "--timeout")) {
      const char* v = value(a);
      if (!v) return usage_error("switchover " + std::string(a) + " needs a value");
      if (a == "--to") {
        cl.switchover_to = v;
      } else if (a == "--rejoin-user") {
        cl.switchover_user = v;
      } else {
        char* end = nullptr;
        const long t = std::strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || t < 0 || t > 86'400)
          return usage_error("switchover --timeout needs whole seconds from 0 to 86400, not '" + std::string(v) + "'");
        cl.switchover_timeout_s = static_cast<int>(t);
      }
    } else if (a == "--rejoin" || a == "--rejoin-user") {
      const char* v = value(a);
      if (!v) return usage_error(std::string(a) + (a == "--rejoin" ? " needs tcp://host:port (or ssl://host:port)" : " needs a user name"));
      (a == "--rejoin" ? cl.flags.rejoin_uri : cl.flags.rejoin_user) = v;
    } else if (a == "--version" || a == "-v") {
      cl.mode = CommandLine::Mode::version;
    } else if (a == "--help" || a == "-h") {
      cl.mode = CommandLine::Mode::help;
    } else if (a == "--json") {
      cl.json = true;
    } else if (verify && !a.starts_with("-")) {
      if (!cl.store_dir.empty()) return usage_error("verify-store takes one data directory, not '" + cl.store_dir +
                                                    "' and '" + std::string(a) + "'");
      cl.store_dir = a;
    } else {
      return usage_error("unknown argument '" + std::string(a) + "'");
    }
  }
  if (status || switchover) {
    if (cl.mode != CommandLine::Mode::run)
      return usage_error(std::string(status ? "status" : "switchover") + " needs --config FILE");
    if (!cl.flags.rejoin_uri.empty() || !cl.flags.rejoin_user.empty() || cl.flags.claim_witness ||
        cl.flags.discard_forked_tail)
      return usage_error(std::string(status ? "status" : "switchover") + " takes no broker start-up flags");
    cl.mode = status ? CommandLine::Mode::status : CommandLine::Mode::switchover;
  }
  if (cl.json && !verify && cl.mode != CommandLine::Mode::check_config)
    return usage_error("--json goes with verify-store or --check-config");
  if (verify && cl.mode != CommandLine::Mode::help) {
    if (cl.mode == CommandLine::Mode::run && !cl.store_dir.empty())
      return usage_error("verify-store takes a data directory or --config FILE, not both");
    if (cl.mode != CommandLine::Mode::run && cl.store_dir.empty())
      return usage_error("verify-store needs a data directory (the broker's dataDirectory or its journal "
                         "directory) or --config FILE");
    cl.mode = CommandLine::Mode::verify_store;
  }
  if (cl.mode == CommandLine::Mode::none) return usage_error("nothing to do");
  return -1;
}

void add_default_base(CommandLine& cl) {
  for (const auto& [name, v] : cl.defines) {
    if (name == "twinmq.base") return;
  }
  if (std::getenv("twinmq.base") || std::getenv("TWINMQ_BASE")) return;
  std::error_code ec;
  auto abs = std::filesystem::absolute(cl.config_file, ec);
  if (ec) return;
  cl.defines.emplace_back("twinmq.base", abs.parent_path().parent_path().string());
}

config::LoadResult load(CommandLine& cl) {
  add_default_base(cl);
  auto result = config::load_config(cl.config_file, cl.defines);
  for (const auto& w : result.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const auto& e : result.errors) std::fprintf(stderr, "%s\n", e.c_str());
  return result;
}

// `--check-config FILE --json`: for scripts (twinmq-resync finds a broker's store from
// its configuration this way, with ${...} resolved exactly as the broker resolves them).
std::string check_config_json(const std::string& file, const config::LoadResult& result) {
  JsonWriter j;
  j.begin_object().key("file").value(file).key("valid").value(result.ok());
  if (result.ok()) {
    const config::Config& c = result.config;
    j.key("broker_name").value(c.broker_name).key("persistent").value(c.persistent);
    j.key("data_directory").value(c.data_directory);
    j.key("store_directory");
    if (c.persistent) j.value(c.journal.directory);
    else j.null();
  } else {
    j.key("errors").begin_array();
    for (const auto& e : result.errors) j.value(e);
    j.end_array();
  }
  j.end_object();
  return j.finish();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2) {  // the store recovery commands parse their own arguments (app/commands.h)
    const std::string_view command = argv[1];
    const app::Args rest(argv + 2, argv + argc);
    if (command == "compare-stores") return app::run_compare_stores(rest);
    if (command == "salvage") return app::run_salvage(rest);
    if (command == "replay") return app::run_replay(rest);
    if (command == "hash-password") return app::run_hash_password(rest);
  }
  CommandLine cl;
  if (int rc = parse(argc, argv, cl); rc >= 0) return rc;

  switch (cl.mode) {
    case CommandLine::Mode::version:
      std::printf("twinmq %s\n", TWINMQ_VERSION);
      return app::kExitClean;
    case CommandLine::Mode::help:
      std::printf("%s", kUsage);
      return app::kExitClean;
    case CommandLine::Mode::verify_store: {
      if (cl.config_file.empty()) return store::run_verify_store(cl.store_dir, cl.json);
      auto result = load(cl);
      if (!result.ok()) return app::kExitConfigError;
      if (!result.config.persistent) {
        std::fprintf(stderr, "verify-store: %s: persistent=\"false\": this broker keeps no store to verify\n",
                     cl.config_file.c_str());
        return app::kExitConfigError;
      }
      return store::run_verify_store(result.config.journal.directory, cl.json);
    }
    case CommandLine::Mode::status: {
      auto result = load(cl);
      if (!result.ok()) return app::kExitConfigError;
      return app::run_status(result.config.data_directory, cl.config_file);
    }
    case CommandLine::Mode::switchover: {
      auto result = load(cl);
      if (!result.ok()) return app::kExitConfigError;
      return app::run_switchover(result.config.data_directory, cl.config_file, cl.switchover_to, cl.switchover_user,
                                 cl.switchover_timeout_s);
    }
    case CommandLine::Mode::check_config: {
      auto result = load(cl);
      if (cl.json) std::fputs(check_config_json(cl.config_file, result).c_str(), stdout);
      if (!result.ok()) {
        std::fprintf(stderr, "%s: %zu problem%s found\n", cl.config_file.c_str(), result.errors.size(),
                     result.errors.size() == 1 ? "" : "s");
        return app::kExitConfigError;
      }
      if (!cl.json) std::printf("%s: configuration is valid\n", cl.config_file.c_str());
      return app::kExitClean;
    }
    case CommandLine::Mode::run:
    case CommandLine::Mode::none:
      break;
  }

  auto level = parse_log_level(cl.log_level);
  if (!level) return usage_error("unknown log level '" + cl.log_level + "'");
  auto result = load(cl);
  if (!result.ok()) return app::kExitConfigError;
  init_logging(*level, result.config.broker_name);
  if (!cl.flags.rejoin_uri.empty() && result.config.replication.master) {
    std::fprintf(stderr, "twinmq: --rejoin is for an old master's configuration; %s already names its master\n",
                 cl.config_file.c_str());
    return app::kExitConfigError;
  }
  if ((cl.flags.discard_forked_tail || !cl.flags.rejoin_user.empty()) && cl.flags.rejoin_uri.empty())
    return usage_error("--discard-forked-tail and --rejoin-user go with --rejoin");
  std::optional<app::RestartAsSlave> restart;
  int rc = 0;
  {
    app::Runtime runtime(std::move(result.config), cl.flags);
    rc = runtime.run();
    restart = runtime.restart_as_slave();
  }  // every handle, the journal and the data directory's lock are let go here
  if (restart && rc == app::kExitClean) return app::restart_as_slave(argc, argv, *restart);
  return rc;
}
