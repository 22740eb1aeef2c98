// ${name} substitution: -D defines, then the environment (exact, then UPPER_SNAKE).
#include <doctest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "config/substitution.h"
#include "helpers.h"

namespace twinmq::config {
namespace {

// A fake environment, so these cases do not depend on the process's.
std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}
const char* fake_getenv(const char* name) {
  auto it = fake_env().find(name);
  return it == fake_env().end() ? nullptr : it->second.c_str();
}

}  // namespace

TEST_CASE("substitution: defines, then exact env name, then UPPER_SNAKE env name") {
  fake_env() = {{"twinmq.base", "/exact"}, {"TWINMQ_HOME", "/home-env"}, {"TWINMQ_BASE", "/upper"}};
  const Defines defines = {{"dir", "/d1"}, {"twinmq.data", "/data"}, {"dir", "/d2"}};
  Variables vars(defines, &fake_getenv);
  CHECK(vars.lookup("dir").value() == "/d2");  // the last -D wins
  CHECK(vars.lookup("twinmq.base").value() == "/exact");
  CHECK(vars.lookup("twinmq.home").value() == "/home-env");
  CHECK(vars.lookup("twinmq.data").value() == "/data");
  CHECK_FALSE(vars.lookup("nope").has_value());
  CHECK(Variables::environment_name("twinmq.base") == "TWINMQ_BASE");
  CHECK(Variables::environment_name("a-b.c_d") == "A-B_C_D");

  const Defines override = {{"twinmq.base", "/define"}};
  CHECK(Variables(override, &fake_getenv).lookup("twinmq.base").value() == "/define");
}

TEST_CASE("substitution: values, literals and problems") {
  fake_env() = {{"EMPTY", ""}};
  const Defines defines = {{"a", "1"}, {"b.c", "${a}"}};
  Variables vars(defines, &fake_getenv);
  CHECK(substitute("plain", vars).value == "plain");
  CHECK(substitute("${a}", vars).value == "1");
  CHECK(substitute("x${a}y${a}z", vars).value == "x1y1z");
  CHECK(substitute("${b.c}", vars).value == "${a}");  // substituted text is not rescanned
  CHECK(substitute("$a $ {a} cost$", vars).value == "$a $ {a} cost$");
  CHECK(substitute("[${EMPTY}]", vars).value == "[]");

  auto s = substitute("${x.y}/${a}/${z}", vars);
  REQUIRE(s.problems.size() == 2);
  CHECK(s.problems[0] == "undefined variable ${x.y} (set it with -Dx.y=... or the environment)");
  CHECK(s.problems[1] == "undefined variable ${z} (set it with -Dz=... or the environment)");
  CHECK(substitute("${a", vars).problems.at(0) == "unterminated ${ in '${a' (expected ${name})");
  CHECK(substitute("${}", vars).problems.at(0) ==
        "invalid variable name ${} in '${}' (letters, digits, '.', '_' and '-' only)");
  CHECK(substitute("${a b}", vars).problems.at(0) ==
        "invalid variable name ${a b} in '${a b}' (letters, digits, '.', '_' and '-' only)");
}

TEST_CASE("substitution in a file: every attribute, define beats env, env fallback") {
  ::setenv("TWINMQ_UNIT_CFG_DIR", "/from-env", 1);
  ::setenv("twinmq.unit.cfg.port", "61000", 1);
  const std::string xml = test::broker(R"(dataDirectory="${twinmq.unit.cfg.dir}/data" brokerName="${name}")",
      test::connectors("<transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:${twinmq.unit.cfg.port}\"/>\n"));

  Config from_env = test::load_ok(xml, {{"name", "b1"}});
  CHECK(from_env.data_directory == "/from-env/data");
  CHECK(from_env.broker_name == "b1");
  CHECK(from_env.connectors.at(0).endpoint.port == 61000);
  CHECK(from_env.connectors.at(0).uri == "stomp://127.0.0.1:61000");

  Config from_define = test::load_ok(xml, {{"name", "b1"}, {"twinmq.unit.cfg.dir", "/from-define"}});
  CHECK(from_define.data_directory == "/from-define/data");
  CHECK(from_define.journal.directory == "/from-define/data/journal");
  ::unsetenv("TWINMQ_UNIT_CFG_DIR");
  ::unsetenv("twinmq.unit.cfg.port");
}

TEST_CASE("substitution in a file: each undefined variable is an error at its line") {
  const auto errors = test::errors_of("<broker dataDirectory=\"${twinmq.unit.nothere}/data\"\n"
                                      "        brokerName=\"${also.missing}\">\n"
                                      "<transportConnectors><transportConnector name=\"stomp\" uri=\"stomp://h:${p}\"/>"
                                      "</transportConnectors>\n</broker>\n");
  REQUIRE(errors.size() == 3);
  CHECK(errors[0] == "conf/broker.xml:1: undefined variable ${twinmq.unit.nothere} (set it with "
                     "-Dtwinmq.unit.nothere=... or the environment)");
  CHECK(errors[1] == "conf/broker.xml:2: undefined variable ${also.missing} (set it with -Dalso.missing=... or the "
                     "environment)");
  CHECK(errors[2] == "conf/broker.xml:3: undefined variable ${p} (set it with -Dp=... or the environment)");
}

TEST_CASE("substitution in a file: a bad substituted value shows where it came from") {
  CHECK(test::error_of(test::broker(R"(persistent="${p}")", ""), {{"p", "yes"}}) ==
        "conf/broker.xml:1: <broker> persistent must be true or false, got 'yes' (from '${p}')");
}

}  // namespace twinmq::config
