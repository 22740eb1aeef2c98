// <sslContext> and stomp+ssl:// connectors: what the loader accepts and the exact
// "file:line: text" of each mistake. File contents (a key that does not match its
// certificate, a file with no PEM in it) are covered with real certificates in
// integration area 31; here only what needs no certificate.
#include <doctest.h>

#include <string>

#include "helpers.h"

namespace twinmq::config {

using test::broker;
using test::connectors;
using test::error_of;
using test::errors_of;
using test::load;

namespace {
std::string tls_connector(const std::string& uri) {
  return connectors("<transportConnector name=\"stomp\" uri=\"" + uri + "\"/>\n");
}
}  // namespace

TEST_CASE("stomp+ssl:// and stomp+nio+ssl:// are TLS stomp connectors and need an <sslContext>") {
  for (const std::string scheme : {"stomp+ssl", "stomp+nio+ssl", "STOMP+SSL"}) {
    CAPTURE(scheme);
    const std::string uri = scheme + "://127.0.0.1:61614";
    CHECK(error_of(broker("", tls_connector(uri))) ==
          "conf/broker.xml:3: transportConnector 'stomp' (" + uri +
              ") speaks TLS but the broker has no <sslContext certificate=\"...\" privateKey=\"...\"/> (add one "
              "inside <broker>)");
  }
}

TEST_CASE("other TLS-looking schemes are refused with a suggestion") {
  CHECK(error_of(broker("", tls_connector("stomp+tls://127.0.0.1:61614"))) ==
        "conf/broker.xml:3: transportConnector 'stomp': scheme 'stomp+tls' is not supported in uri "
        "'stomp+tls://127.0.0.1:61614' (did you mean 'stomp+ssl'?)");
  CHECK(error_of(broker("", tls_connector("stomps://127.0.0.1:61614"))).find("scheme 'stomps' is not supported") !=
        std::string::npos);
}

TEST_CASE("needClientAuth / wantClientAuth: only on TLS connectors, booleans, and they need trustedCAs") {
  CHECK(error_of(broker("", tls_connector("stomp://127.0.0.1:61613?needClientAuth=true"))) ==
        "conf/broker.xml:3: transportConnector 'stomp': needClientAuth applies only to stomp+ssl:// connectors (TLS) "
        "in uri 'stomp://127.0.0.1:61613?needClientAuth=true'");
  const auto errors = errors_of(broker("", tls_connector("stomp+ssl://127.0.0.1:61613?wantClientAuth=maybe")));
  REQUIRE(!errors.empty());
  CHECK(errors.front().starts_with("conf/broker.xml:3: transportConnector 'stomp': wantClientAuth must be true or false"));
  CHECK(errors_of(broker("", tls_connector("stomp+ssl://127.0.0.1:61613?needClientAuthh=true"))).front().find(
            "unknown option 'needClientAuthh' in uri 'stomp+ssl://127.0.0.1:61613?needClientAuthh=true' (did you "
            "mean 'needClientAuth'?)") != std::string::npos);
}

TEST_CASE("<sslContext>: the Java keystore attributes, missing attributes, both levels, a missing file") {
  CHECK(error_of(broker("", "<sslContext><sslContext keyStore=\"broker.ks\"/></sslContext>\n" +
                                tls_connector("stomp+ssl://127.0.0.1:61614"))) ==
        "conf/broker.xml:2: <sslContext> keyStore: twinmq reads PEM files, not Java keystores; convert them (keytool "
        "-importkeystore -deststoretype PKCS12, then openssl pkcs12 -nokeys / -nocerts -nodes) and give "
        "certificate=\"...\" privateKey=\"...\" trustedCAs=\"...\"");
  CHECK(error_of(broker("", "<sslContext certificate=\"a.pem\"/>\n" + tls_connector("stomp+ssl://127.0.0.1:61614"))) ==
        "conf/broker.xml:2: <sslContext> needs certificate=\"...\" and privateKey=\"...\" (PEM files; "
        "trustedCAs=\"...\" too for client certificates)");
  CHECK(error_of(broker("", "<sslContext certificate=\"a.pem\" privateKey=\"a.key\">\n"
                            "<sslContext certificate=\"b.pem\" privateKey=\"b.key\"/></sslContext>\n" +
                                tls_connector("stomp+ssl://127.0.0.1:61614"))) ==
        "conf/broker.xml:3: <sslContext>: give the attributes on one <sslContext> element, not on both levels");
  CHECK(error_of(broker("", "<sslContext certificate=\"file:/nonexistent/b.pem\" privateKey=\"/nonexistent/b.key\"/>\n" +
                                tls_connector("stomp+ssl://127.0.0.1:61614"))) ==
        "conf/broker.xml:2: <sslContext> cannot use certificate file '/nonexistent/b.pem': No such file or directory");
  CHECK(errors_of(broker("", "<sslContext certFile=\"b.pem\"/>\n")).front() ==
        "conf/broker.xml:2: unknown attribute 'certFile' on <sslContext> (expected one of: 'certificate', "
        "'privateKey', 'trustedCAs', 'keyStore', 'keyStorePassword', 'trustStore', 'trustStorePassword')");
}

TEST_CASE("ssl:// for the replication link: listener and masterConnectorURI need <sslContext> with trustedCAs") {
  const std::string listener = connectors(
      "<transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:61613\"/>\n"
      "<transportConnector name=\"replication\" uri=\"ssl://127.0.0.1:62001\"/>\n");
  CHECK(error_of(broker("", listener)) ==
        "conf/broker.xml:4: transportConnector 'replication' (ssl://127.0.0.1:62001) speaks TLS but the broker has no "
        "<sslContext certificate=\"...\" privateKey=\"...\" trustedCAs=\"...\"/> (add one inside <broker>)");
  CHECK(error_of(broker("masterConnectorURI=\"ssl://10.0.0.1:62001\"", "")) ==
        "conf/broker.xml:1: the link to the master (ssl://10.0.0.1:62001) speaks TLS but the broker has no "
        "<sslContext certificate=\"...\" privateKey=\"...\" trustedCAs=\"...\"/> (add one inside <broker>)");
  CHECK(errors_of(broker("", connectors("<transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:61613\"/>\n"
                                        "<transportConnector name=\"replication\" "
                                        "uri=\"ssl://127.0.0.1:62001?needClientAuth=true\"/>\n"))).front() ==
        "conf/broker.xml:4: transportConnector 'replication': ssl:// takes no options, got 'needClientAuth' (the "
        "replication listener always requires the slave's certificate) in uri "
        "'ssl://127.0.0.1:62001?needClientAuth=true'");
  CHECK(error_of(broker("masterConnectorURI=\"https://10.0.0.1:62001\"", "")) ==
        "conf/broker.xml:1: masterConnectorURI: scheme 'https' is not supported (the master's replication listener is "
        "tcp://, or ssl:// with TLS) in uri 'https://10.0.0.1:62001'");
}

TEST_CASE("an <sslContext> no connector uses is a warning") {
  LoadResult r = load(broker("", "<sslContext certificate=\"/nonexistent/b.pem\" privateKey=\"b.key\"/>\n"));
  // The file is checked anyway (it is wrong): one error, at the element.
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors.front().starts_with("conf/broker.xml:2: <sslContext> cannot use certificate file"));
}

}  // namespace twinmq::config
