# claim: a SQLite extension that trains and runs a claim/opinion classifier.
#
#   make            build build/claim.so
#   make test       build everything and run the whole suite
#   make demo       train, evaluate and predict on a generated dataset
#                   (make demo DATA=path/to/tiktok_dataset.csv for a real file)
#   make SANITIZE=1 test   the suite under AddressSanitizer and UBSan
#   make fuzz       run the libFuzzer targets in tests/fuzz for FUZZ_SECONDS
#                   (default 60) each; needs clang, which it installs as root

CC ?= cc
BUILD ?= build
CFLAGS ?= -O3 -g
WARNINGS = -Wall -Wextra
# -fno-math-errno lets sqrt() vectorize; nothing here reads errno after math.
STD = -std=c11 -D_POSIX_C_SOURCE=200809L -fopenmp-simd -fno-math-errno
# Debian's directory name for the target, such as x86_64-linux-gnu. GCC and
# Clang print it with -print-multiarch; -dumpmachine is the fallback.
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
MULTIARCH := $(or $(MULTIARCH),$(shell $(CC) -dumpmachine))
# OpenBLAS's serial build when installed (Debian's libopenblas0-serial),
# because the layers are too small for threads, and the threaded build
# starts worker threads at load time that spin on a core. Otherwise the
# default OpenBLAS of libopenblas-dev. LIBS is expanded when a recipe runs,
# which is after `deps` (an order-only prerequisite of $(BUILD)) may have
# installed the package.
OPENBLAS_SERIAL = /usr/lib/$(MULTIARCH)/openblas-serial
SERIAL_LIBS = $(OPENBLAS_SERIAL)/libopenblas.so.0 \
              -Wl,-rpath,$(OPENBLAS_SERIAL)
LIBS = $(if $(wildcard $(OPENBLAS_SERIAL)/libopenblas.so.0),\
         $(SERIAL_LIBS),-lopenblas) -lm

ifeq ($(SANITIZE),1)
  BUILD := build/sanitize
  CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
            -fno-sanitize-recover=undefined
  # sqltest and the integration programs link the ASan runtime, but the
  # system sqlite3 CLI that `.shell sqlite3 ...` test lines run does not,
  # and it aborts when it loads the sanitized extension. The test run puts
  # $(BUILD)/bin first on PATH, where a wrapper preloads the runtime.
  TEST_TOOLS = $(BUILD)/bin/sqlite3
  TEST_PATH = PATH="$(abspath $(BUILD))/bin:$$PATH"
endif

EXT_SOURCES = $(wildcard ext/*.c)
EXT_HEADERS = $(wildcard ext/*.h)
# The parts with no SQLite calls, linked directly into the unit tests.
CORE_SOURCES = ext/text.c ext/nn.c ext/adam.c ext/rng.c ext/network.c \
               ext/trainer.c ext/encoder.c
UNIT_SOURCES = $(wildcard tests/unit_*.c)
UNIT_TESTS = $(patsubst tests/%.c,$(BUILD)/%,$(UNIT_SOURCES))
# Programs that load the built extension into SQLite (threads, processes).
INTEGRATION_SOURCES = $(wildcard tests/integration_*.c)
INTEGRATION_TESTS = $(patsubst tests/%.c,$(BUILD)/%,$(INTEGRATION_SOURCES))

.PHONY: all test demo clean deps fixtures bench fuzz fuzz-deps

all: deps $(BUILD)/claim.so

deps:
	@sh tests/check_deps.sh

$(BUILD)/claim.so: $(EXT_SOURCES) $(EXT_HEADERS) | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) $(STD) -fPIC -shared -o $@ $(EXT_SOURCES) $(LIBS)

$(BUILD)/sqltest: tests/sqltest.c | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) -std=c11 -D_DEFAULT_SOURCE -o $@ $< -lsqlite3

$(BUILD)/unit_%: tests/unit_%.c tests/unit.h $(CORE_SOURCES) $(EXT_HEADERS) | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) $(STD) -Iext -o $@ $< $(CORE_SOURCES) $(LIBS)

$(BUILD)/integration_%: tests/integration_%.c tests/integration.h | $(BUILD)
	$(CC) $(CFLAGS) $(WARNINGS) $(STD) -Iext -o $@ $< -lsqlite3 -lpthread -lm

$(BUILD)/generate_videos: fixtures/generate_videos.c | $(BUILD)
	$(CC) -O2 $(WARNINGS) -std=c11 -o $@ $< -lm

fixtures/videos.csv: $(BUILD)/generate_videos
	$(BUILD)/generate_videos 6000 1 > $@

fixtures: fixtures/videos.csv

$(BUILD): | deps
	mkdir -p $(BUILD)

test: deps $(BUILD)/claim.so $(BUILD)/sqltest $(UNIT_TESTS) $(INTEGRATION_TESTS) \
      fixtures/videos.csv $(TEST_TOOLS)
	$(TEST_PATH) SQLTEST=$(BUILD)/sqltest SQLTEST_EXTENSION=$(BUILD)/claim \
	  UNIT_TESTS="$(UNIT_TESTS) $(INTEGRATION_TESTS) tests/bench/quick.sh" \
	  bash tests/run

# The sqlite3 CLI with the ASan runtime preloaded, for SANITIZE=1.
$(BUILD)/bin/sqlite3: | $(BUILD)
	mkdir -p $(BUILD)/bin
	printf '#!/bin/sh\nLD_PRELOAD="%s$${LD_PRELOAD:+ $$LD_PRELOAD}" exec %s "$$@"\n' \
	  "$$($(CC) -print-file-name=libasan.so)" "$$(command -v sqlite3)" > $@
	chmod +x $@

# libFuzzer targets tests/fuzz/fuzz_NAME.c, each run for FUZZ_SECONDS
# from its seed corpus tests/fuzz/corpus_NAME/. New inputs go to
# $(BUILD)/fuzz/corpus_NAME/ and crashing inputs to $(BUILD)/fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_TARGETS = tokenizer model
# NOTE: clang 14 (Debian 12) names a target_clones dispatcher NAME.ifunc,
# so calls to it from other files do not link. The fuzz build turns the
# attribute of ext/nn.h into "unused" and runs the portable loops.
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined $(WARNINGS) \
              -Wno-pass-failed $(STD) '-Dtarget_clones(...)=unused'

fuzz: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
	@failed=0; for target in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus_$$target; \
	  echo "== fuzz_$$target for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/fuzz_$$target -max_total_time=$(FUZZ_SECONDS) \
	    -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ \
	    $(BUILD)/fuzz/corpus_$$target tests/fuzz/corpus_$$target \
	    || failed=1; \
	done; exit $$failed

fuzz-deps:
	@FUZZ_CC=$(FUZZ_CC) sh tests/fuzz/check_clang.sh

$(BUILD)/fuzz/fuzz_tokenizer: tests/fuzz/fuzz_tokenizer.c ext/text.c ext/encoder.c \
                              $(EXT_HEADERS) | fuzz-deps
	mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Iext -o $@ $< ext/text.c ext/encoder.c -lm

$(BUILD)/fuzz/fuzz_model: tests/fuzz/fuzz_model.c tests/integration.h \
                          $(EXT_SOURCES) $(EXT_HEADERS) | fuzz-deps deps
	mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DSQLITE_CORE -Iext -Itests -o $@ $< \
	  $(EXT_SOURCES) -lsqlite3 $(LIBS)

DATA ?= fixtures/videos.csv
demo: deps $(BUILD)/claim.so fixtures/videos.csv
	DEMO_PLOTS="$${DEMO_PLOTS:-$(abspath $(BUILD))/demo-plots}" \
	  sh sql/demo.sh $(BUILD)/claim "$(DATA)"

# Removes build/ and, when BUILD names another directory, only what the
# build writes there, then the directory if it is left empty.
BUILD_OUTPUTS = claim.so sqltest unit_* integration_* generate_videos \
                demo-plots fuzz bin
clean:
	rm -rf build
	$(if $(filter-out build build/,$(BUILD)),\
	  rm -rf $(addprefix $(BUILD)/,$(BUILD_OUTPUTS)); \
	  rmdir $(BUILD) 2>/dev/null || true)

# The benchmark: figures and ratios against peers measured in the same run.
# SCALE_ROWS sets the training-at-scale sizes.
SCALE_ROWS ?= 1000000 4000000
bench: deps $(BUILD)/claim.so fixtures/videos.csv
	@command -v /usr/bin/time >/dev/null || sh tests/check_deps.sh bench
	bash tests/bench/bench.sh $(BUILD)/claim $(SCALE_ROWS)
