# precraft — one Makefile (STYLE.md §0).
#   make            build/precraft, build/libprecraft.a and .so, and the helpers (esp-decrypt, tracegen, bench)
#   make test       the CUnit suite and the integration tests, under ASan and UBSan
#   make demo       the default job on the bundled capture
#   make bench      performance figures and their ratios to the anchors
#   make install    PREFIX=/usr/local DESTDIR=
.DEFAULT_GOAL := all
VERSION  := 0.1.0
PREFIX   ?= /usr/local
CC       ?= cc
BUILD    ?= build
SAN      ?=

WARN     := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
DEFS     := -D_POSIX_C_SOURCE=200809L -DPRECRAFT_VERSION=\"$(VERSION)\"
# GCC's generic x86-64 tuning copies and clears mid-sized structs and short variable lengths
# (a struct pkt, a header of n bytes) inline with 'rep movs' / 'rep stos', whose start-up takes
# tens of cycles, more than the copy: as calls to glibc's memcpy and memset, which choose vector
# code by length, the slow path took 86 ns instead of 114 and crafting 110 instead of 132 (make
# bench, the engine in memory).  Only where the compiler has the option.
STRINGOPS := $(shell $(CC) -dumpmachine 2>/dev/null | grep -q '^x86_64' && \
	       $(CC) -mstringop-strategy=libcall -E -x c /dev/null > /dev/null 2>&1 && echo -mstringop-strategy=libcall)
ifeq ($(SAN),1)
OPT      := -O0 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SAN),thread)
# ThreadSanitizer (make tsan): the threads precraft runs (the store's writer thread).
OPT      := -O1 -g -fsanitize=thread -fno-omit-frame-pointer
else ifeq ($(FUZZ),1)
# libFuzzer's coverage instrumentation on every object (clang; see 'make fuzz').
OPT      := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
# Link-time optimisation: the per-packet path crosses many small files (sched, link, cpu,
# engine, craft, pkt) and inlining across them took 16 % off the simulator's run (make bench's
# workload).  Fat objects keep libprecraft.a usable by a compiler without GCC's LTO.  -O3 with
# the profile below: 8 % fewer instructions a packet on that workload than -O2 (callgrind), 0-4 %
# less time in A/B runs of 7-11 alternations, for a program 14 % larger.
OPT      := -O3 -g -flto=auto -ffat-lto-objects $(STRINGOPS)
# Profile-guided optimisation (PGO=1, the default where the compiler can): the release objects
# are first compiled instrumented, linked into $(BUILD)/pgo-train, and scripts/pgo-train.sh runs
# that program through the shipped scenarios and captures (sim, replay --timed, replay in each
# mode; not make bench's workload); the objects are then compiled again with the profile it left
# beside each of them: branches laid out and functions inlined as that traffic takes them.  Code
# the training does not run is compiled as without a profile (-fprofile-partial-training).  12 %
# off the simulator's 1M-packet workload (make bench).  Both passes compile into the same
# directory: GCC finds a static function's profile by the object's path.  Every source and
# header is an input of the profile, so an edit retrains: PGO=0 builds without, faster while
# editing.
PGO      ?= 1
PGO_CAN  := $(shell $(CC) -fprofile-partial-training -E -x c /dev/null > /dev/null 2>&1 && echo 1)
ifeq ($(PGO)$(PGO_CAN),11)
ifeq ($(PGO_PHASE),gen)
OPT      += -fprofile-generate -fprofile-update=atomic
else
PGO_STAMP := $(BUILD)/pgo-trained
OPT      += -fprofile-use -fprofile-partial-training -fprofile-correction -Wno-missing-profile
endif
endif
endif
# Recursive (=) so that they are read after 'deps' has installed what pkg-config needs.
PKG_CFLAGS = $(shell pkg-config --cflags libpcap gsl sqlite3 cunit zlib libsodium libcrypto 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs libpcap gsl sqlite3 zlib libsodium libcrypto 2>/dev/null)
CUNIT_LIBS = $(shell pkg-config --libs cunit 2>/dev/null)
NET_LIBS   = $(shell pkg-config --libs libnet 2>/dev/null || libnet-config --libs 2>/dev/null)
# OpenMPI, for `mpirun ... precraft sweep` (cli/sweep_mpi.c): linked when present (make deps
# installs it); without it a sweep under mpirun says how to get it.
MPI_CFLAGS = $(shell pkg-config --exists ompi-c 2>/dev/null && echo -DHAVE_MPI $$(pkg-config --cflags ompi-c))
MPI_LIBS   = $(shell pkg-config --libs ompi-c 2>/dev/null)
# libnet's BSD feature macros apply only to the one file that includes <libnet.h>.
NET_DEFS   = $(shell libnet-config --defines 2>/dev/null)

# <pcap.h> needs the BSD u_int/u_char types that strict POSIX hides, the capture guard
# MAP_ANONYMOUS, and the HIL runner setgroups() to drop root: only these files get the default
# (BSD) feature set.
BSD_FILES := traces/trace traces/trace_guard traces/trace_test hil/pcapio hil/runner hil/replay tests/esp/decrypt
$(foreach f,$(BSD_FILES),$(eval $(BUILD)/obj/$(f).o: FILE_DEFS := -D_DEFAULT_SOURCE))
# libnet-config still says _BSD_SOURCE; _DEFAULT_SOURCE is its current name and silences glibc.
$(BUILD)/obj/hil/netio.o: FILE_DEFS = $(NET_DEFS) -D_DEFAULT_SOURCE
$(BUILD)/obj/cli/sweep_mpi.o: FILE_DEFS = $(MPI_CFLAGS)
# XGBoost (Debian's libxgboost-dev has no pkg-config file), for training the xgb predictor
# (models/xgb_train.c): linked when present (make deps installs it); without it, training xgb
# says how to get it and everything else works.
XGB_CFLAGS = $(shell [ -e /usr/include/xgboost/c_api.h ] && echo -DHAVE_XGBOOST)
XGB_LIBS   = $(shell [ -e /usr/include/xgboost/c_api.h ] && echo -lxgboost)
$(BUILD)/obj/models/xgb_train.o: FILE_DEFS = $(XGB_CFLAGS)
# realpath() is XSI: only the file that resolves data paths asks for it.
$(BUILD)/obj/cli/cli.o: FILE_DEFS := -D_XOPEN_SOURCE=700
# The commit the program was built from, for run.git_rev: a header rewritten only when it changes.
GIT_REV_H := $(BUILD)/gen/git_rev.h
$(BUILD)/obj/analysis/store_write.o: $(GIT_REV_H)
$(BUILD)/obj/analysis/store_write.o: FILE_DEFS := -I$(BUILD)/gen

CFLAGS_ALL = $(WARN) $(DEFS) $(FILE_DEFS) $(OPT) -pthread -I. $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(OPT) -pthread $(LDFLAGS)

CORE_SRC  := $(filter-out %_test.c,$(wildcard core/*.c))
APP_SRC   := $(filter-out %_test.c,$(wildcard models/*.c sim/*.c analysis/*.c hil/*.c traces/*.c))
CLI_SRC   := $(wildcard cli/*.c)
TEST_SRC  := $(wildcard core/*_test.c models/*_test.c sim/*_test.c analysis/*_test.c hil/*_test.c traces/*_test.c cli/*_test.c) $(wildcard tests/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
CORE_OBJ := $(call obj,$(CORE_SRC))
CORE_PIC := $(patsubst %.c,$(BUILD)/pic/%.o,$(CORE_SRC))
APP_OBJ  := $(call obj,$(APP_SRC))
CLI_OBJ  := $(call obj,$(filter-out %_test.c,$(CLI_SRC)))
TEST_OBJ := $(call obj,$(TEST_SRC))

.PHONY: FORCE all deps ns3 test check check-layers unit integration demo bench install clean fuzz fuzz-build soak tsan study
# The helpers the README's commands name are built too: the independent ESP decrypter of the
# lab's tunnel check (build/esp-decrypt), the frame and trace generators of the lab and the
# benchmarks (build/tracegen frames, mktrace, floodtrace; hil/lab rfc2544) and the benchmarks.
all: $(BUILD)/precraft $(BUILD)/libprecraft.a $(BUILD)/libprecraft.so $(BUILD)/esp-decrypt $(BUILD)/tracegen $(BUILD)/bench

deps:
	@sh scripts/deps.sh

$(GIT_REV_H): FORCE
	@mkdir -p $(dir $@)
	@rev=$$(git rev-parse --short=12 HEAD 2>/dev/null || true); \
	 dirty=$$(git status --porcelain --untracked-files=no 2>/dev/null | head -c1); \
	 line="#define PRECRAFT_GIT_REV \"$$rev$${dirty:+-dirty}\""; \
	 [ -z "$$rev" ] && line="/* not built from a git checkout */"; \
	 [ -f $@ ] && [ "$$(cat $@)" = "$$line" ] || echo "$$line" > $@
FORCE:

# The optimisation flags an object was built with: when they change (a new OPT, or CFLAGS on the
# command line), every object is rebuilt rather than linked stale with the new ones.
OPT_STAMP := $(BUILD)/opt-flags
$(shell mkdir -p $(BUILD) && { echo '$(OPT) $(CFLAGS)' | cmp -s - $(OPT_STAMP) || echo '$(OPT) $(CFLAGS)' > $(OPT_STAMP); })

$(BUILD)/obj/%.o: %.c $(OPT_STAMP) $(PGO_STAMP) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@
$(BUILD)/pic/%.o: %.c $(OPT_STAMP) $(PGO_STAMP) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fPIC -MMD -MP -c $< -o $@

# The profile (PGO): the objects compiled instrumented, linked and trained; the profile is left
# beside each object (.gcda).  The compiler flags' stamp is put back to this pass's, so that the
# objects compiled next are not taken as stale again at the next make.
ifdef PGO_STAMP
PGO_INPUTS := $(CORE_SRC) $(APP_SRC) $(CLI_SRC) scripts/pgo-train.sh Makefile $(OPT_STAMP) \
	      $(wildcard core/*.h models/*.h sim/*.h analysis/*.h hil/*.h traces/*.h cli/*.h)
$(PGO_STAMP): $(PGO_INPUTS) | deps
	@find $(BUILD)/obj -name '*.gcda' -delete 2> /dev/null || true
	@$(MAKE) --no-print-directory PGO_PHASE=gen $(BUILD)/pgo-train
	sh scripts/pgo-train.sh $(BUILD)/pgo-train
	@rm -f $(BUILD)/pgo-train
	@echo '$(OPT) $(CFLAGS)' > $(OPT_STAMP)
	@touch $@
endif
$(BUILD)/pgo-train: $(CLI_OBJ) $(APP_OBJ) $(BUILD)/libprecraft.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJ) $(APP_OBJ) $(BUILD)/libprecraft.a $(PKG_LIBS) $(NET_LIBS) $(MPI_LIBS) $(XGB_LIBS) -lm

$(BUILD)/libprecraft.a: $(CORE_OBJ)
	$(AR) rcs $@ $^
$(BUILD)/libprecraft.so: $(CORE_PIC)
	$(CC) -shared -Wl,-soname,libprecraft.so.0 $(LDFLAGS_ALL) -o $@ $^ $(shell pkg-config --libs libsodium libcrypto 2>/dev/null)
$(BUILD)/precraft: $(CLI_OBJ) $(APP_OBJ) $(BUILD)/libprecraft.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJ) $(APP_OBJ) $(BUILD)/libprecraft.a $(PKG_LIBS) $(NET_LIBS) $(MPI_LIBS) $(XGB_LIBS) -lm
$(BUILD)/bench: $(call obj,bench/bench.c bench/tables.c bench/tunnel.c bench/tunnel_layer.c bench/compress.c) $(APP_OBJ) $(BUILD)/libprecraft.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(NET_LIBS) $(XGB_LIBS) -lm
# The capture reader and writer, for the helpers that link it alone.
TRACE_IO := traces/trace.c traces/trace_guard.c traces/trace_write.c
$(BUILD)/tracegen: $(call obj,tools/tracegen.c sim/rng.c $(TRACE_IO)) $(BUILD)/libprecraft.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lm
# The hostile-input corpus's generator (tests/hostile.sh).
$(BUILD)/hostile-gen: $(call obj,tests/hostile/gen.c tests/hostile/frame.c $(TRACE_IO)) $(BUILD)/libprecraft.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lm
# The independent ESP decrypter of tests/esp.sh: libsodium (precraft seals with OpenSSL),
# nothing of precraft's.
$(BUILD)/esp-decrypt: $(call obj,tests/esp/decrypt.c)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(shell pkg-config --libs libsodium libpcap 2>/dev/null)
# tests/faults_test.c makes allocation k fail: precraft's own allocations reach it through
# these link-time wrappers (and esp_test scans what is freed).
FAULT_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=free
# The tests link the one shaper setup, so that they set up engines as every runner does.
TEST_CLI_OBJ := $(call obj,cli/cli.c cli/shaper.c)
$(BUILD)/run_tests: $(TEST_OBJ) $(TEST_CLI_OBJ) $(APP_OBJ) $(BUILD)/libprecraft.a
	$(CC) $(LDFLAGS_ALL) $(FAULT_WRAP) -o $@ $(TEST_OBJ) $(TEST_CLI_OBJ) $(APP_OBJ) $(BUILD)/libprecraft.a $(PKG_LIBS) $(NET_LIBS) $(CUNIT_LIBS) $(XGB_LIBS) -lm

# libFuzzer targets (tests/fuzz/README.md): built with clang in build/fuzz, each run for
# FUZZ_SECONDS from the committed seed corpus after its regression inputs.
FUZZ_TARGETS := pkt_roundtrip engine_diff trace_read config report hc_link
FUZZ_SECONDS ?= 60
FUZZ_BINS := $(addprefix $(BUILD)/fuzz-,$(FUZZ_TARGETS))
$(BUILD)/fuzz-%: $(call obj,tests/fuzz/%.c tests/fuzz/file.c) $(APP_OBJ) $(BUILD)/libprecraft.a
	$(CC) $(LDFLAGS_ALL) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) $(NET_LIBS) $(XGB_LIBS) -lm
fuzz-build: $(FUZZ_BINS)
fuzz: deps
	@$(MAKE) --no-print-directory -j2 CC=clang FUZZ=1 BUILD=build/fuzz fuzz-build
	sh tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The whole suite runs on a sanitizer build in its own directory, then each fuzzer for 15 s,
# then the bad-input part under valgrind on the release build (memcheck sees uninitialised
# reads the sanitizers cannot), a 20-second soak in the lab on the release build (resident
# memory means something there), then the layer check.
test: deps
	@$(MAKE) --no-print-directory SAN=1 BUILD=build/san check
	@$(MAKE) --no-print-directory tsan
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=15
	@$(MAKE) --no-print-directory BUILD=build build/precraft build/hostile-gen $(NS3_TEST)
	PRECRAFT=build/precraft PRECRAFT_NS3=$(NS3_TEST) sh tests/valgrind.sh
	@if [ "$$(id -u)" = 0 ] && command -v ip > /dev/null; then PRECRAFT=build/precraft sh tests/soak.sh 20; \
	 else echo "skip soak: needs root (network namespaces)"; fi
	@$(MAKE) --no-print-directory check-layers
# precraft-ns3 is built and tested where ns-3's headers are (make deps installs libns3-dev);
# elsewhere tests/ns3.sh says it skips and why.
NS3_TEST = $(if $(wildcard /usr/include/ns3/core-module.h),$(BUILD)/precraft-ns3)
check: $(BUILD)/run_tests $(BUILD)/precraft $(BUILD)/hostile-gen $(BUILD)/esp-decrypt $(BUILD)/tracegen $(BUILD)/bench $(NS3_TEST)
	$(BUILD)/run_tests
	PRECRAFT=$(BUILD)/precraft PRECRAFT_NS3=$(NS3_TEST) sh tests/integration.sh

# The threads precraft runs, under ThreadSanitizer, on a build of their own.
tsan: deps
	@$(MAKE) --no-print-directory SAN=thread BUILD=build/tsan build/tsan/precraft build/tsan/run_tests
	PRECRAFT=build/tsan/precraft RUN_TESTS=build/tsan/run_tests sh tests/tsan.sh

# The #include lines against DESIGN.md's layout table.
check-layers:
	@sh scripts/check-layers.sh

# The soak run in the lab (root): hil forward for SOAK_SECONDS under mixed and hostile traffic.
SOAK_SECONDS ?= 180
soak: all $(BUILD)/hostile-gen
	PRECRAFT=$(BUILD)/precraft sh tests/soak.sh $(SOAK_SECONDS)

demo: all
	@sh scripts/demo.sh $(BUILD)/precraft

# The shipped study (scripts/study.sh): QUICK=1 for 3 loads instead of 10, MPI=N for mpirun.
study: all
	@sh scripts/study.sh $(BUILD) $(if $(QUICK),quick,full) $(MPI)

bench: all $(BUILD)/bench $(BUILD)/ns3-anchors $(NS3_TEST)
	@sh bench/bench.sh $(BUILD)
# ns-3's own figures for make bench's anchors, measured in the same run (Debian's libns3-dev;
# C++ because ns-3 is: nothing of precraft's is in it).
NS3_LIBS := -lns3-core -lns3-network -lns3-internet -lns3-point-to-point -lns3-traffic-control
$(BUILD)/ns3-anchors: bench/ns3/anchors.cc | deps
	@mkdir -p $(dir $@)
	$(CXX) -O2 -std=c++17 -o $@ $< $(NS3_LIBS)

# make ns3: build/precraft-ns3, precraft's shaper as nodes of ns-3 (ns3/: the project's only C++,
# a thin adapter over the C model: sim/node.h, cli/host.h).  Debian's ns-3 3.37 ships broken
# pkg-config files: its headers are in /usr/include/ns3 and its libraries named directly.
NS3_CC := $(wildcard ns3/*.cc)
NS3_OBJ := $(patsubst %.cc,$(BUILD)/obj/%.o,$(NS3_CC))
NS3_NODE_LIBS := $(NS3_LIBS) -lns3-applications -lns3-flow-monitor -lns3-stats
HOST_CLI_OBJ := $(filter-out $(BUILD)/obj/cli/main.o,$(CLI_OBJ))
ns3: $(BUILD)/precraft-ns3
$(BUILD)/obj/ns3/%.o: ns3/%.cc $(OPT_STAMP) | deps
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -Wall -Wextra -Wno-unused-parameter $(OPT) -pthread -I. $(CXXFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/precraft-ns3: $(NS3_OBJ) $(HOST_CLI_OBJ) $(APP_OBJ) $(BUILD)/libprecraft.a
	$(CXX) $(LDFLAGS_ALL) -o $@ $(NS3_OBJ) $(HOST_CLI_OBJ) $(APP_OBJ) $(BUILD)/libprecraft.a $(NS3_NODE_LIBS) \
		$(PKG_LIBS) $(NET_LIBS) $(MPI_LIBS) $(XGB_LIBS) -lm

# The public header and the headers it includes.
PUBLIC_H := core/precraft.h core/clock.h core/engine.h core/err.h core/policy.h core/predict.h core/route.h
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/precraft
	install -m 755 $(BUILD)/precraft $(DESTDIR)$(PREFIX)/bin/precraft
	install -m 644 $(BUILD)/libprecraft.a $(DESTDIR)$(PREFIX)/lib/libprecraft.a
	install -m 755 $(BUILD)/libprecraft.so $(DESTDIR)$(PREFIX)/lib/libprecraft.so.$(VERSION)
	ln -sf libprecraft.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libprecraft.so.0
	ln -sf libprecraft.so.0 $(DESTDIR)$(PREFIX)/lib/libprecraft.so
	install -d $(DESTDIR)$(PREFIX)/include/precraft
	install -m 644 $(PUBLIC_H) $(DESTDIR)$(PREFIX)/include/precraft/
	install -m 644 doc/precraft.1 $(DESTDIR)$(PREFIX)/share/man/man1/precraft.1
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: precraft\nDescription: predictive packet crafting (the core library)\nVersion: %s\nRequires.private: libsodium libcrypto\nLibs: -L$${libdir} -lprecraft\nCflags: -I$${includedir}\n' \
		'$(PREFIX)' '$(VERSION)' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/precraft.pc
	install -d $(DESTDIR)$(PREFIX)/share/precraft/scenarios $(DESTDIR)$(PREFIX)/share/precraft/traces
	install -m 644 scenarios/*.ini scenarios/default.routes scenarios/default.tunnel scenarios/default.costs scenarios/README.md \
		$(DESTDIR)$(PREFIX)/share/precraft/scenarios/
	install -m 644 traces/*.pcap traces/*.pcapng traces/MANIFEST.tsv traces/README.md \
		$(DESTDIR)$(PREFIX)/share/precraft/traces/

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
