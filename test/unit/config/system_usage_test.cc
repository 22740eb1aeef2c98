// <systemUsage> (memoryUsage, storeUsage, sendFailIfNoSpace*) and the policyEntry
// memoryLimit / producerFlowControl: ActiveMQ's nesting and size spellings, defaults,
// and a reasoned file:line refusal for what makes no sense here.
#include <string>
#include <unistd.h>

#include "helpers.h"

namespace twinmq::config::test {
namespace {

// Line 2 is <systemUsage>, line 3 the inner bean, line 4 its first child.
std::string usage(const std::string& bean_attributes, const std::string& children) {
  return broker("", "<systemUsage>\n<systemUsage" + bean_attributes + ">\n" + children + "</systemUsage>\n</systemUsage>\n");
}

std::uint64_t physical_memory() {
  return static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(::sysconf(_SC_PAGE_SIZE));
}

}  // namespace

TEST_CASE("systemUsage: the defaults: a quarter of physical memory, 100 gb of store, producers wait") {
  const Config c = load_ok(broker("", ""));
  CHECK(c.system_usage.memory_limit == physical_memory() / 100 * kDefaultMemoryPercent);
  CHECK(c.system_usage.store_limit == 100ull << 30);
  CHECK_FALSE(c.system_usage.send_fail_if_no_space);
  CHECK(c.system_usage.send_fail_if_no_space_after_timeout_ms == 0);
  const broker::DestinationPolicy p = c.policy_for("/queue/a");
  CHECK(p.memory_limit == 0);
  CHECK(p.producer_flow_control);
}

TEST_CASE("systemUsage: ActiveMQ's nesting and size spellings are read") {
  const Config c = load_ok(usage(" sendFailIfNoSpace=\"true\"",
                                 "<memoryUsage><memoryUsage limit=\"512 mb\"/></memoryUsage>\n"
                                 "<storeUsage><storeUsage limit=\"2GB\"/></storeUsage>\n"));
  CHECK(c.system_usage.memory_limit == 512ull << 20);
  CHECK(c.system_usage.store_limit == 2ull << 30);
  CHECK(c.system_usage.send_fail_if_no_space);
}

TEST_CASE("systemUsage: limit 0 is unlimited; percentLimit is a share of physical memory; the timeout is read") {
  Config c = load_ok(usage(" sendFailIfNoSpaceAfterTimeout=\"2500\"",
                           "<memoryUsage><memoryUsage limit=\"0\"/></memoryUsage>\n"
                           "<storeUsage><storeUsage limit=\"0\"/></storeUsage>\n"));
  CHECK(c.system_usage.memory_limit == 0);
  CHECK(c.system_usage.store_limit == 0);
  CHECK(c.system_usage.send_fail_if_no_space_after_timeout_ms == 2500);
  c = load_ok(usage("", "<memoryUsage><memoryUsage percentLimit=\"10\"/></memoryUsage>\n"));
  CHECK(c.system_usage.memory_limit == physical_memory() / 100 * 10);
}

TEST_CASE("systemUsage: percentOfJvmHeap, both limit forms, a share of the disk and bad values are refused at their line") {
  CHECK(error_of(usage("", "<memoryUsage><memoryUsage percentOfJvmHeap=\"70\"/></memoryUsage>\n")) ==
        "conf/broker.xml:4: <memoryUsage> percentOfJvmHeap has no meaning for twinmq (there is no JVM heap): give "
        "limit=\"512 mb\", or percentLimit=\"25\" for a share of physical memory");
  CHECK(error_of(usage("", "<memoryUsage><memoryUsage limit=\"1 gb\" percentLimit=\"20\"/></memoryUsage>\n")) ==
        "conf/broker.xml:4: <memoryUsage> takes limit or percentLimit, not both");
  CHECK(error_of(usage("", "<storeUsage><storeUsage percentLimit=\"50\"/></storeUsage>\n")).find(
            "conf/broker.xml:4: <storeUsage> percentLimit (a share of the disk) is not supported") == 0);
  CHECK(error_of(usage("", "<memoryUsage><memoryUsage limit=\"lots\"/></memoryUsage>\n")).find("conf/broker.xml:4:") ==
        0);
  CHECK(error_of(usage("", "<memoryUsage><memoryUsage percentLimit=\"101\"/></memoryUsage>\n")).find(
            "conf/broker.xml:4:") == 0);
  CHECK(error_of(usage(" sendFailIfNoSpaceAfterTimeout=\"0\"", "")).find("conf/broker.xml:3:") == 0);
  // A typo gets the nearest name.
  CHECK(error_of(usage(" sendFailIfNoSpce=\"true\"", "")).find("did you mean 'sendFailIfNoSpace'") !=
        std::string::npos);
  // The bean's attributes do not belong on the outer property element.
  CHECK(error_of(broker("", "<systemUsage sendFailIfNoSpace=\"true\"/>\n")).find("conf/broker.xml:2:") == 0);
}

TEST_CASE("systemUsage: sendFailIfNoSpaceAfterTimeout with sendFailIfNoSpace is a warning (it fails at once)") {
  const LoadResult r = load(usage(" sendFailIfNoSpace=\"true\" sendFailIfNoSpaceAfterTimeout=\"100\"", ""));
  REQUIRE(r.ok());
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find("sendFailIfNoSpaceAfterTimeout has no effect") != std::string::npos);
}

TEST_CASE("policyEntry: memoryLimit and producerFlowControl") {
  const Config c = load_ok(broker("", "<destinationPolicy><policyMap><policyEntries>\n"
                                      "<policyEntry queue=\"orders.>\" memoryLimit=\"10 mb\" producerFlowControl=\"false\"/>\n"
                                      "</policyEntries></policyMap></destinationPolicy>\n"));
  const broker::DestinationPolicy p = c.policy_for("/queue/orders.eu");
  CHECK(p.memory_limit == 10u << 20);
  CHECK_FALSE(p.producer_flow_control);
  CHECK(c.policy_for("/queue/other").memory_limit == 0);
}

}  // namespace twinmq::config::test
