# twinmq — the two commands: `make run` and `make test` (README.md).
# Every dependency is a Debian package, installed here when missing.

BUILD      ?= build
ASAN_BUILD ?= build-asan
CONFIG     ?= conf/broker.xml
# libFuzzer targets (test/fuzz) in their own clang build; `make fuzz` runs each for
# FUZZ_SECONDS. `make test` does not need it: the g++ build replays every seed and
# every crash found through the same targets (test/run_all).
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CXX     ?= clang++-16

DEBIAN_PACKAGES := g++ meson ninja-build pkg-config libuv1-dev libflatbuffers-dev \
  flatbuffers-compiler libtinyxml2-dev doctest-dev libspdlog-dev libfmt-dev python3-stomp \
  iproute2 procps util-linux rsync etcd-server etcd-client libcurl4-openssl-dev nlohmann-json3-dev \
  libhttp-parser-dev prometheus chromium libcrypt-dev libssl-dev openssl libsystemd-dev curl
# Only for `make fuzz` (clang 16 and its libFuzzer/sanitizer runtimes), so CI's `make
# test` does not download a compiler it does not use.
FUZZ_DEBIAN_PACKAGES := clang-16 libclang-rt-16-dev
# Only for `make deb` / `make deb-check`: Debian's packaging tools (debian/).
DEB_DEBIAN_PACKAGES := debhelper dpkg-dev lintian help2man fakeroot
# `make deb` builds in a copy of the tree here; the .deb lands in it.
DEB_BUILD ?= build-deb

.PHONY: all deps deps-fuzz deps-deb build run run-single test test-asan fuzz fuzz-build bench bench-compare deb deb-check clean

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

deps-fuzz:
	@missing=$$(for p in $(FUZZ_DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

deps-deb:
	@missing=$$(for p in $(DEB_DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
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

# UndefinedBehaviorSanitizer only prints by default, into logs the tests capture: halting
# makes undefined behaviour fail the test that caused it (brokers inherit the setting).
test-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	UBSAN_OPTIONS=$${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} test/run_all $(ASAN_BUILD)

# clang 16: the first Debian clang whose C++ front end takes libstdc++ 12's <expected>
# (meson.build explains the one macro it needs). Every library is instrumented for
# coverage (fuzzer-no-link); ASan and UBSan stop at the first report.
$(FUZZ_BUILD)/build.ninja:
	CXX=$(FUZZ_CXX) meson setup $(FUZZ_BUILD) -Dfuzz=true -Dbuildtype=debugoptimized \
	  -Db_sanitize=address,undefined -Db_lundef=false \
	  "-Dcpp_args=['-fsanitize=fuzzer-no-link','-fno-sanitize-recover=all']" \
	  "-Dcpp_link_args=['-fno-sanitize-recover=all']"

# Only the four targets and the libraries they link (not the broker, tools or tests).
fuzz-build: deps deps-fuzz $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) fuzz

# Each target for FUZZ_SECONDS, one after another, from its seeds (test/fuzz/corpus/<target>,
# never written to) and the crashes found before (test/fuzz/found/<target>); prints
# time, executions, cov and ft per target. A crash fails it. FUZZ_TARGETS picks some.
fuzz: fuzz-build
	test/fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: build
	src/tools/bench/standard_scenarios $(BUILD)

# twinmq (single broker and pair) next to ActiveMQ from Debian's package.
bench-compare: build
	src/tools/bench-compare/run $(BUILD)

# The Debian package (debian/, README "Installing"): dpkg-buildpackage with debhelper in
# a copy of the tree (the files git tracks or would track, so no build directory or
# data goes in), binary only, unsigned. Prints the path of the .deb.
deb: deps deps-deb
	rm -rf $(DEB_BUILD) && mkdir -p $(DEB_BUILD)/twinmq
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -C $(DEB_BUILD)/twinmq -xf -
	cd $(DEB_BUILD)/twinmq && dpkg-buildpackage -b -uc -us >../dpkg-buildpackage.log 2>&1 || \
	  { tail -40 ../dpkg-buildpackage.log; exit 1; }
	@ls $(DEB_BUILD)/*.deb

# Builds the package and checks it: contents and control fields (dpkg-deb -c / -I),
# an unpacked tree whose twinmq runs, and lintian. Not part of `make test` (a full
# optimised build of the broker); test/package/check_deb says what it checks.
deb-check: deb
	test/package/check_deb $(DEB_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(DEB_BUILD)
