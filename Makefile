# twinmq — the two commands: `make run` and `make test` (README.md).
# Every dependency is a Debian package, installed here when missing.

BUILD      ?= build
ASAN_BUILD ?= build-asan
CONFIG     ?= conf/broker.xml

DEBIAN_PACKAGES := g++ meson ninja-build pkg-config libuv1-dev libflatbuffers-dev \
  flatbuffers-compiler libtinyxml2-dev doctest-dev libspdlog-dev libfmt-dev python3-stomp \
  iproute2 procps util-linux rsync etcd-server etcd-client libcurl4-openssl-dev nlohmann-json3-dev

.PHONY: all deps build run run-single test test-asan bench bench-compare clean

all: build

# Installs only what is missing, so a warm machine does not touch apt. Node.js and npm
# (the JavaScript example) are checked as commands: a machine may have them from
# another source (NodeSource's nodejs ships npm, and conflicts with Debian's npm).
deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done; \
	  command -v node >/dev/null || echo nodejs; command -v npm >/dev/null || echo npm); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The pair on one host: conf/master.xml (STOMP 61613, replication 62001) and
# conf/slave.xml (STOMP 61614); both logs on this terminal, Ctrl-C stops both.
run: build
	src/tools/run-pair $(BUILD)

# One broker alone, from $(CONFIG).
run-single: build
	$(BUILD)/twinmq --config $(CONFIG)

test: build
	test/run_all $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

test-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	test/run_all $(ASAN_BUILD)

bench: build
	src/tools/bench/standard_scenarios $(BUILD)

# twinmq (single broker and pair) next to ActiveMQ from Debian's package.
bench-compare: build
	src/tools/bench-compare/run $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
