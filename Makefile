# skykeeper: the only build entry point.
#
#   make            build everything (bin/skykeeper, bin/fsmc)
#   make run        build and run the daemon
#   make test       install what is missing, build, run every test, twice:
#                   once plain, once with ASan+UBSan
#   make docs       regenerate docs/lifecycle.svg and docs/lifecycle.md
#   make verify     model-check the lifecycle with spin
#   make bench      print the engine's dispatch figures
#
# Generated files go to $(BUILD), binaries to $(BIN).  The sanitizer build
# is the same rules with BUILD=build/san BIN=bin/san.

BUILD ?= build
BIN   ?= bin
SAN   ?=
CC    ?= gcc
VERSION := 0.1.0

WARN     := -std=c11 -Wall -Wextra -Werror
CPPFLAGS := -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DSK_VERSION='"$(VERSION)"' \
            -Isrc -I$(BUILD)/gen -Igen -I/usr/include/postgresql
CFLAGS   ?= -O2 -g
ALLCFLAGS = $(CFLAGS) $(WARN) $(SAN)
# Order matters: libsignal-protocol-c.so exports its own older copy of the
# protobuf_c_* functions; -lprotobuf-c must come first so the system
# protobuf-c wins for our generated code and for libsignal alike.
LDLIBS   := -lqrencode -lpq -lwebsockets -lev -ljson-c -lssl -lcrypto -lprotobuf-c -lsignal-protocol-c -lz -lm
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# --- sources ---------------------------------------------------------------
FSMC_SRC := gen/fsmc.c gen/parse.c gen/check.c gen/emit_c.c gen/emit_dot.c \
            gen/emit_mermaid.c gen/emit_promela.c
FSMC_OBJ := $(FSMC_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/scan.o

# Every layer's files are picked up by folder: a new file needs no edit here.
CORE_SRC := $(wildcard src/fsm/*.c src/log/*.c src/wa/*.c src/net/*.c src/store/*.c src/qr/*.c)
PROTO_SRC := $(wildcard proto/*.proto)
PROTO_C   := $(PROTO_SRC:proto/%.proto=$(BUILD)/gen/%.pb-c.c)
PROTO_H   := $(PROTO_SRC:proto/%.proto=$(BUILD)/gen/%.pb-c.h)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/lifecycle_fsm.o \
            $(PROTO_C:%.c=%.o)

SK_SRC   := src/main.c $(wildcard src/cli/*.c src/session/*.c)
SK_OBJ   := $(SK_SRC:%.c=$(BUILD)/%.o)

TS_SRC   := $(wildcard tools/wa-testserver/*.c)
TS_OBJ   := $(TS_SRC:%.c=$(BUILD)/%.o)

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/%.c=%)

GEN_LIFECYCLE := $(BUILD)/gen/lifecycle_fsm.h $(BUILD)/gen/lifecycle_fsm.c \
                 $(BUILD)/gen/lifecycle_bind.c
GEN_ENGTEST   := $(BUILD)/gen/enginetest_fsm.h $(BUILD)/gen/enginetest_fsm.c \
                 $(BUILD)/gen/enginetest_bind.c
GEN_BENCH     := $(BUILD)/gen/bench_fsm.h $(BUILD)/gen/bench_fsm.c

TESTS := $(patsubst tests/%.c,$(BIN)/tests/%,$(wildcard tests/check_*.c))
# The fuzz targets, built with gcc and a main() that replays files: make test
# runs every saved input (tests/fuzz/regress/NAME/) through them.
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(BIN)/fuzz/%)

.PHONY: all build daemon run demo test test-plain test-san bootstrap docs check-generated \
        verify bench fuzz clean
.DEFAULT_GOAL := all

all: bootstrap
	@$(MAKE) --no-print-directory build

bootstrap:
	@tools/bootstrap

build: $(BIN)/fsmc $(BIN)/skykeeper $(TESTS) $(BIN)/tests/crash_writer \
       $(BIN)/tests/daemon-seed \
       $(BIN)/bench_engine $(FUZZ_REPLAY) \
       $(if $(TS_SRC),$(BIN)/wa-testserver)

# The daemon alone, no bootstrap: what tools/heroku-build runs on Heroku.
daemon: $(BIN)/skykeeper

run: bootstrap
	@$(MAKE) --no-print-directory build
	$(BIN)/skykeeper run

# A walk through the lifecycle on loopback: open, 515, silence, SIGTERM.
demo: bootstrap
	@$(MAKE) --no-print-directory build
	@tests/daemon/demo.sh $(BIN)

# The suite runs against the plain build and again under ASan+UBSan.
test: bootstrap
	@$(MAKE) --no-print-directory test-plain
	@$(MAKE) --no-print-directory test-san

test-plain: build
	@tests/run $(BIN) $(BUILD)

test-san:
	@$(MAKE) --no-print-directory BUILD=build/san BIN=bin/san SAN="$(SANFLAGS)" build
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    tests/run bin/san build/san

# --- the spec compiler -----------------------------------------------------
$(BUILD)/gen/scan.c: gen/scan.rl
	@mkdir -p $(@D)
	ragel -T0 -o $@ $<

# Ragel's output is generated code: it gets the same flags, and -T0 table
# output happens to compile clean under them.
$(BUILD)/gen/scan.o: $(BUILD)/gen/scan.c gen/scan.h gen/spec.h
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c -o $@ $<

$(BUILD)/gen/%.o: gen/%.c gen/spec.h gen/scan.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c -o $@ $<

$(BIN)/fsmc: $(FSMC_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^

# --- generated tables ------------------------------------------------------
$(GEN_LIFECYCLE) &: fsm/lifecycle.fsm $(BIN)/fsmc
	@mkdir -p $(BUILD)/gen
	$(BIN)/fsmc c fsm/lifecycle.fsm -o $(BUILD)/gen

$(GEN_ENGTEST) &: tests/fsm/enginetest.fsm $(BIN)/fsmc
	@mkdir -p $(BUILD)/gen
	$(BIN)/fsmc c tests/fsm/enginetest.fsm -o $(BUILD)/gen

$(GEN_BENCH) &: tools/bench/bench.fsm $(BIN)/fsmc
	@mkdir -p $(BUILD)/gen
	$(BIN)/fsmc c tools/bench/bench.fsm -o $(BUILD)/gen

$(BUILD)/gen/%_fsm.o: $(BUILD)/gen/%_fsm.c $(BUILD)/gen/%_fsm.h src/fsm/fsm.h
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c -o $@ $<

$(BUILD)/gen/%_bind.o: $(BUILD)/gen/%_bind.c $(BUILD)/gen/%_fsm.h src/fsm/fsm.h
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c -o $@ $<

# --- protobuf --------------------------------------------------------------
# every proto/NAME.proto becomes BUILD/gen/NAME.pb-c.{c,h}
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h &: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -Iproto $<

$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c -o $@ $<

GEN_HEADERS := $(BUILD)/gen/lifecycle_fsm.h $(PROTO_H)

# --- the daemon ------------------------------------------------------------
$(BUILD)/src/%.o: src/%.c $(GEN_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -MMD -MP -c -o $@ $<

$(BIN)/skykeeper: $(SK_OBJ) $(CORE_OBJ) $(BUILD)/gen/lifecycle_bind.o
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ $(filter-out -lpq,$(LDLIBS))

# --- the loopback WhatsApp server -----------------------------------------
$(BUILD)/tools/wa-testserver/%.o: tools/wa-testserver/%.c $(GEN_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itools $(ALLCFLAGS) -MMD -MP -c -o $@ $<

$(BIN)/wa-testserver: $(TS_OBJ) $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ $(LDLIBS)

# --- tests -----------------------------------------------------------------
$(BUILD)/tests/%.o: tests/%.c $(GEN_HEADERS) $(BUILD)/gen/enginetest_fsm.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -MMD -MP -c -o $@ $<

# Any other tests/check_NAME.c links with the whole core.
$(BIN)/tests/check_%: $(BUILD)/tests/check_%.o $(BUILD)/tests/util.o $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

# The PostgreSQL tests share a harness that needs libpq.
$(BIN)/tests/check_pg $(BIN)/tests/check_mirror: $(BIN)/tests/%: $(BUILD)/tests/%.o \
        $(BUILD)/tests/pgutil.o $(BUILD)/tests/util.o $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

# The victim of the crash trials (tests/crash/run kills it during saves),
# linked with the store alone: the trials start it 400 times, and the whole
# core's libraries add tens of ms of dynamic linking to every start.
$(BIN)/tests/crash_writer: $(BUILD)/tests/crash/writer.o \
        $(BUILD)/src/store/file.o $(BUILD)/src/store/snapshot.o \
        $(BUILD)/gen/session.pb-c.o
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ -lcrypto -lprotobuf-c

# Puts a Baileys creds.json into the file store for the daemon tests.
$(BIN)/tests/daemon-seed: $(BUILD)/tests/daemon/seed.o $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/tests/check_fsmc: $(BUILD)/tests/check_fsmc.o $(BUILD)/tests/util.o
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ $(CHECK_LIBS)

$(BIN)/tests/check_engine: $(BUILD)/tests/check_engine.o $(CORE_OBJ) \
                           $(BUILD)/gen/enginetest_fsm.o $(BUILD)/gen/enginetest_bind.o
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BIN)/tests/check_replay: $(BUILD)/tests/check_replay.o $(BUILD)/tests/util.o $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

# --- fuzzing ---------------------------------------------------------------
$(BIN)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/standalone.o $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ $(LDLIBS)

# make fuzz: libFuzzer (clang) runs each target for FUZZ_SECONDS; a crash
# lands in tests/fuzz/regress/NAME/, which make test then replays for ever.
FUZZ_SECONDS ?= 60
fuzz: bootstrap
	@$(MAKE) --no-print-directory $(PROTO_C) $(BUILD)/gen/lifecycle_fsm.h
	@CPPFLAGS="$(CPPFLAGS)" LDLIBS="$(LDLIBS)" tools/fuzz $(BUILD) $(FUZZ_SECONDS) \
	    "$(filter-out src/net/%,$(CORE_SRC)) $(PROTO_C) $(BUILD)/gen/lifecycle_fsm.c" \
	    $(FUZZ_NAMES)

# --- benchmark -------------------------------------------------------------
$(BUILD)/tools/bench/%.o: tools/bench/%.c $(BUILD)/gen/bench_fsm.h $(BUILD)/gen/lifecycle_fsm.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -MMD -MP -c -o $@ $<

$(BIN)/bench_engine: $(BUILD)/tools/bench/bench_engine.o $(BUILD)/gen/bench_fsm.o \
                     $(BUILD)/gen/lifecycle_fsm.o \
                     $(BUILD)/src/fsm/engine.o $(BUILD)/src/fsm/trace.o $(BUILD)/src/log/log.o
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ $(LDLIBS)

# Other tools/bench/bench_NAME.c programs link with the whole core.
BENCH_PROGS := $(patsubst tools/bench/%.c,$(BIN)/%,$(filter-out tools/bench/bench_engine.c,$(wildcard tools/bench/bench_*.c)))

$(BIN)/bench_%: $(BUILD)/tools/bench/bench_%.o $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $^ $(LDLIBS)

bench: bootstrap
	@$(MAKE) --no-print-directory build $(BENCH_PROGS)
	@tools/bench/run $(BIN)/bench_engine
	@for b in $(BENCH_PROGS); do $$b || exit 1; done
	@tests/testserver/load.sh $(BIN) 10000
	@tools/bench/daemon_figures.sh $(BIN)

# --- docs and drift --------------------------------------------------------
DOCS := docs/lifecycle.svg docs/lifecycle.md

docs: bootstrap
	@$(MAKE) --no-print-directory $(BIN)/fsmc
	@tools/gendocs $(BIN)/fsmc docs

check-generated: $(BIN)/fsmc
	@tools/gendocs $(BIN)/fsmc $(BUILD)/docs-now
	@for f in $(DOCS); do \
	    diff -u $$f $(BUILD)/docs-now/$${f#docs/} >/dev/null || { \
	        echo "check-generated: $$f differs from what fsm/lifecycle.fsm produces; run 'make docs'"; \
	        diff -u $$f $(BUILD)/docs-now/$${f#docs/} | head -40; exit 1; }; \
	done; echo "check-generated: docs match the spec"

verify: bootstrap
	@$(MAKE) --no-print-directory $(BIN)/fsmc
	@FSMC=$(BIN)/fsmc tools/verify fsm/lifecycle.fsm

clean:
	rm -rf build bin

# Generated sources are not intermediate files: keep them between builds.
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
