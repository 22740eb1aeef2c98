// The shipped conf/broker.xml loads cleanly, and loading from a file works end to end.
#include <doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "helpers.h"

namespace twinmq::config {

TEST_CASE("conf/broker.xml loads cleanly with twinmq.base given") {
  const std::string path = std::string(TWINMQ_SOURCE_DIR) + "/conf/broker.xml";
  LoadResult r = load_config(path, {{"twinmq.base", "/srv/twinmq"}});
  for (const std::string& e : r.errors) MESSAGE(e);
  REQUIRE(r.ok());
  CHECK(r.warnings.empty());
  const Config& c = r.config;
  CHECK(c.source_file == path);
  CHECK(c.broker_name == "localhost");
  CHECK(c.data_directory == "/srv/twinmq/data/broker");
  CHECK(c.journal.directory == "/srv/twinmq/data/broker/journal");
  CHECK(c.persistent);
  REQUIRE(c.stomp_connector() != nullptr);
  CHECK(c.stomp_connector()->endpoint.host == "127.0.0.1");
  CHECK(c.stomp_connector()->endpoint.port == 61613);
  CHECK(c.connectors.size() == 1);
  CHECK_FALSE(c.replication.master.has_value());
  CHECK(c.users.empty());
}

TEST_CASE("conf/broker.xml without twinmq.base names the variable") {
  if (std::getenv("TWINMQ_BASE") != nullptr || std::getenv("twinmq.base") != nullptr) return;
  const std::string path = std::string(TWINMQ_SOURCE_DIR) + "/conf/broker.xml";
  LoadResult r = load_config(path, {});
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].starts_with(path + ":"));
  CHECK(r.errors[0].ends_with(": undefined variable ${twinmq.base} (set it with -Dtwinmq.base=... or the environment)"));
}

TEST_CASE("load_config reads a file and reports it by the path given") {
  char dir_template[] = "/tmp/twinmq-config-test-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string path = std::string(dir_template) + "/b.xml";
  {
    std::ofstream out(path);
    out << "<broker brokerName=\"file\">\n"
           "<transportConnectors><transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:0\"/></transportConnectors>\n"
           "<plugins/>\n<plugins/>\n</broker>\n";
  }
  LoadResult r = load_config(path, {});
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == path + ":4: duplicate <plugins> in <broker> (first at line 3)");
  CHECK(r.config.broker_name == "file");
  std::remove(path.c_str());
  ::rmdir(dir_template);
}

}  // namespace twinmq::config
