# Thin wrapper over CMake presets. `make run` and `make test` are the two
# commands a fresh Debian 12 machine needs (see README.md).
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all deps build run test asan fuzz fuzz-build bench lint clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	cmake --preset release >/dev/null
	cmake --build build -j $(JOBS)

# Starts the server on its embedded defaults: data in ./pacsd-data (filesystem
# blobs + SQLite index), HTTP on 127.0.0.1:8080. Ctrl-C stops it gracefully.
run: build
	./build/pacsd serve

test: build
	ctest --test-dir build --output-on-failure -j $(JOBS)

asan: deps
	cmake --preset asan >/dev/null
	cmake --build build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan --output-on-failure -j $(JOBS)

fuzz-build: deps
	cmake --preset fuzz >/dev/null
	cmake --build build-fuzz -j $(JOBS)

# Each target runs for FUZZ_SECONDS on a scratch copy of its corpus, so a run
# never rewrites the committed corpus; crashers are written to build-fuzz/.
fuzz: fuzz-build
	@bash scripts/fuzz.sh $(FUZZ_SECONDS)

bench: build
	bash bench/parse/run.sh
	bash bench/render/run.sh
	bash bench/server/run.sh
	bash bench/dimse/run.sh

lint:
	bash scripts/lint.sh

clean:
	rm -rf build build-debug build-asan build-tsan build-fuzz
