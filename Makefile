# The two commands of README.md: `make demo` and `make test`.
# Everything else is CMake + ctest; this file only strings steps together.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DHS_WERROR=ON

.PHONY: all setup build demo test test-asan bench bench-share soak fuzz install deb clean \
	windows test-windows

all: build

setup:
	@sh scripts/setup.sh build

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

demo: build
	./$(BUILD)/hubsync demo $(BUILD)/demo

test: setup
	@sh scripts/setup.sh test
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE soak
	@sh scripts/fuzz.sh $(BUILD)-fuzz 20
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory test-windows

test-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHS_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) -- --no-print-directory
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'nosan|soak'

# The long variants: many more crash trials, seeds and processes.
soak: build
	cd $(BUILD) && HS_SOAK=1 ctest --output-on-failure -j $(JOBS) -L 'soak|integration'

# Every fuzz target for FUZZ_SECONDS each (make test runs them briefly).
FUZZ_SECONDS ?= 300
fuzz: setup
	@sh scripts/fuzz.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

# Windows: hubsync.exe cross-built with mingw-w64, its dependencies from
# Debian's source packages (cached in build-win/deps), packed as
# dist/hubsync-VERSION-windows-x64.zip; test-windows runs the unit tests,
# the in-process tests and a CLI scenario on Z:\ and UNC paths under wine.
WIN_BUILD ?= build-win
windows:
	@sh scripts/windows.sh $(WIN_BUILD)

test-windows: windows
	@sh scripts/wine-test.sh $(WIN_BUILD)

# BENCH_ARGS=--big adds the black-box case at 1M rows (see docs/PERFORMANCE.md).
bench: build
	./$(BUILD)/hs_bench $(BENCH_ARGS)

# The stream case against a file master on a real SMB share (root).
bench-share: build
	bash bench/share.sh $(BUILD) $(BENCH_ARGS)

# Install the command, the library (shared and static), hubsync.h,
# hubsync.pc, the man pages, the systemd user unit and the docs under PREFIX;
# DESTDIR stages them elsewhere (cmake/install.cmake lists what goes where).
PREFIX ?= /usr/local
install: build
	@cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

# dist/hubsync_VERSION_ARCH.deb, from a build of its own (scripts/deb.sh).
deb: setup
	@sh scripts/deb.sh $(BUILD)-deb dist

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BUILD)-deb dist $(WIN_BUILD)/cmake
