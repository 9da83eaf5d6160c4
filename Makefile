# dnnc — top-level build.  `make` builds build/dnnc, build/libdnnrt.a (the
# whole runtime) and build/libdnnrt_core.a (its freestanding core alone),
# `make check` runs every test, `make demo` shows the example models.
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -std=c99 -Wall -Wextra -Wpedantic -Wno-unused-function
BUILD    = build
PREFIX  ?= /usr/local

COMPILER_SRC = $(wildcard compiler/*.c)
COMPILER_OBJ = $(COMPILER_SRC:compiler/%.c=$(BUILD)/compiler/%.o) \
               $(BUILD)/grammar/parser.o $(BUILD)/grammar/lexer.o
# The runtime (docs/design.md, "The runtime's layout"): public headers in
# runtime/, sources in one folder per part; core/ alone is the library
# firmware links, every folder together libdnnrt.a.
RUNTIME_SRC  = $(sort $(wildcard runtime/*/*.c))
RUNTIME_OBJ  = $(RUNTIME_SRC:runtime/%.c=$(BUILD)/runtime/%.o)
RUNTIME_HDR  = $(wildcard runtime/*.h runtime/*/*.h)
CORE_OBJ     = $(filter $(BUILD)/runtime/core/%,$(RUNTIME_OBJ))
HOST_OBJ     = $(filter $(BUILD)/runtime/host/%,$(RUNTIME_OBJ))

.PHONY: all deps check demo clean goldens bench fuzz fuzz-build install uninstall asan snapshots core firmware-train-cores
all: deps $(BUILD)/dnnc $(BUILD)/libdnnrt.a $(BUILD)/libdnnrt_core.a

# The core alone, with any compiler: `make core CC=arm-none-eabi-gcc
# CFLAGS='-mcpu=cortex-m4 -mthumb -Os' BUILD=build/arm` (docs/firmware.md).
core: $(BUILD)/libdnnrt_core.a

# Installs flex/bison/... only when missing (see scripts/deps.sh). The rules
# that need them (the grammar, the runtime's zlib.h) wait for it (`| deps`),
# so that `make -j` on a fresh machine does not run bison before it is there.
deps:
	@sh scripts/deps.sh build

$(BUILD)/grammar/parser.c $(BUILD)/grammar/parser.h: grammar/parser.y | deps
	@mkdir -p $(@D)
	bison -Wall -Werror --defines=$(BUILD)/grammar/parser.h -o $(BUILD)/grammar/parser.c $<

$(BUILD)/grammar/lexer.c $(BUILD)/grammar/lexer.h: grammar/lexer.l | deps
	@mkdir -p $(@D)
	flex --header-file=$(BUILD)/grammar/lexer.h -o $(BUILD)/grammar/lexer.c $<

# Generated scanner/parser: built without -Wpedantic's noise about flex internals.
$(BUILD)/grammar/%.o: $(BUILD)/grammar/%.c $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.h compiler/dnnc.h
	$(CC) $(CFLAGS) -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wno-unused-function -Wno-sign-compare -Icompiler -I$(BUILD)/grammar -c $< -o $@

$(BUILD)/compiler/%.o: compiler/%.c $(wildcard compiler/*.h compiler/*.def) $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Icompiler -I$(BUILD)/grammar -Iruntime -c $< -o $@

# dnnc reads safetensors files (--emit=selftest) with the runtime's own core.
$(BUILD)/dnnc: $(COMPILER_OBJ) $(CORE_OBJ) $(HOST_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ -lm

$(BUILD)/runtime/%.o: runtime/%.c $(RUNTIME_HDR) | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Iruntime -c $< -o $@

$(BUILD)/libdnnrt.a: $(RUNTIME_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libdnnrt_core.a: $(CORE_OBJ)
	rm -f $@
	ar rcs $@ $^

# dnnc and the runtime once more under AddressSanitizer and UBSan, for the
# test suites (tests/diag, tests/sanitize): build/asan/dnnc, build/asan/libdnnrt.a.
ASAN       = $(BUILD)/asan
ASAN_FLAGS = -g -O0 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_OBJ   = $(COMPILER_OBJ:$(BUILD)/%=$(ASAN)/%)
asan: $(ASAN)/dnnc $(ASAN)/libdnnrt.a
$(ASAN)/grammar/%.o: $(BUILD)/grammar/%.c $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.h compiler/dnnc.h
	@mkdir -p $(@D)
	$(CC) $(ASAN_FLAGS) -std=c99 -D_POSIX_C_SOURCE=200809L -Icompiler -I$(BUILD)/grammar -c $< -o $@
$(ASAN)/compiler/%.o: compiler/%.c $(wildcard compiler/*.h compiler/*.def) $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.h
	@mkdir -p $(@D)
	$(CC) $(ASAN_FLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Icompiler -I$(BUILD)/grammar -Iruntime -c $< -o $@
$(ASAN)/runtime/%.o: runtime/%.c $(RUNTIME_HDR)
	@mkdir -p $(@D)
	$(CC) $(ASAN_FLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Iruntime -c $< -o $@
# linked with the sanitizers' static libraries: the suites start it a thousand
# times, and each start is a quarter faster without their relocations
$(ASAN)/dnnc: $(ASAN_OBJ) $(CORE_OBJ:$(BUILD)/%=$(ASAN)/%) $(HOST_OBJ:$(BUILD)/%=$(ASAN)/%)
	$(CC) $(ASAN_FLAGS) -static-libasan -static-libubsan -o $@ $^ -lm
$(ASAN)/libdnnrt.a: $(RUNTIME_OBJ:$(BUILD)/%=$(ASAN)/%)
	rm -f $@
	ar rcs $@ $^

check: all
	@sh scripts/deps.sh check
	@sh tests/run.sh

# The fine-tuning example (examples/firmware-train) on five Cortex-M cores
# under QEMU, with their instructions per training step; make check runs the
# Cortex-M4 alone. About 11 minutes (the Cortex-M3, soft float, 5 of them).
firmware-train-cores: all
	@sh scripts/deps.sh check
	@sh tests/firmware-train/run.sh m4 m3 m7 m33 m55

# Rewrites tests/snapshot/expected after a deliberate change to generated code (review the diff).
snapshots: $(BUILD)/dnnc
	@sh tests/snapshot/run.sh --refresh

demo: all
	@sh scripts/deps.sh demo
	@sh examples/demo.sh

# Speed beside PyTorch (bench/README.md): installs the data set and python3-torch when missing.
bench: all
	@sh scripts/deps.sh demo
	@sh scripts/deps.sh goldens
	@sh scripts/deps.sh bench
	@sh bench/run.sh

# Fuzzing (docs/reliability.md): libFuzzer targets of the compiler, the
# safetensors reader and the data readers, built with clang into
# build/fuzz/; `make fuzz FUZZ_SECONDS=N` runs each for N seconds.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS   = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -D_POSIX_C_SOURCE=200809L -Icompiler -I$(BUILD)/grammar -Iruntime -I$(BUILD)/fuzz -Itests/fuzz
FUZZ          = $(BUILD)/fuzz
FUZZ_TARGETS  = $(FUZZ)/fuzz_compiler $(FUZZ)/fuzz_safetensors $(FUZZ)/fuzz_data
FUZZ_DATA     = $(patsubst $(BUILD)/%,$(FUZZ)/%,$(filter $(BUILD)/runtime/data/%,$(RUNTIME_OBJ)))
FUZZ_CORE     = $(CORE_OBJ:$(BUILD)/%=$(FUZZ)/%)
FUZZ_COMPILER = $(patsubst $(BUILD)/%,$(FUZZ)/%,$(filter-out %/main.o,$(COMPILER_OBJ))) $(FUZZ_CORE)

fuzz-build: deps
	@sh scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS)
fuzz: fuzz-build
	@sh tests/fuzz/fuzz.sh $(FUZZ_SECONDS)

# (64 KB arena blocks: a fresh 1 MB block per input cost as much system time as the compile)
$(FUZZ)/compiler/%.o: compiler/%.c $(wildcard compiler/*.h compiler/*.def) $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DARENA_BLOCK=65536 -fsanitize=fuzzer-no-link -std=c99 -c $< -o $@
$(FUZZ)/grammar/%.o: $(BUILD)/grammar/%.c $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.h compiler/dnnc.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -std=c99 -c $< -o $@
$(FUZZ)/runtime/%.o: runtime/%.c $(RUNTIME_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -std=c99 -c $< -o $@
# the model fuzz_safetensors loads into: C generated by the dnnc just built
$(FUZZ)/bn_dense.c $(FUZZ)/bn_dense.h: tests/golden/cases/bn_dense.dnn $(BUILD)/dnnc
	@mkdir -p $(@D)
	$(BUILD)/dnnc $< -o $(FUZZ)/bn_dense.c
$(FUZZ)/fuzz_compiler: tests/fuzz/fuzz_compiler.c $(FUZZ_COMPILER)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -std=c99 -Wall -Wextra $^ -lm -o $@
$(FUZZ)/fuzz_safetensors: tests/fuzz/fuzz_safetensors.c $(FUZZ)/bn_dense.c $(FUZZ_CORE)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -std=c99 -Wall -Wextra $^ -lm -o $@
$(FUZZ)/fuzz_data: tests/fuzz/fuzz_data.c $(FUZZ_DATA) $(HOST_OBJ:$(BUILD)/%=$(FUZZ)/%) $(FUZZ_CORE)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -std=c99 -Wall -Wextra $^ -lz -lm -o $@

# Re-derives the PyTorch golden files and the extreme-value cases (needs python3-torch; CI does this).
# With the reference BLAS (tests/reference_blas.sh), as the tests re-derive them.
goldens: all
	@sh scripts/deps.sh goldens
	. tests/reference_blas.sh && /usr/bin/python3 tests/golden/make_goldens.py && \
	    /usr/bin/python3 tests/quant/make_golden.py && /usr/bin/python3 tests/quant/qat_golden.py && \
	    /usr/bin/python3 tests/numerics/make_numerics.py && /usr/bin/python3 tests/augment/make_goldens.py

clean:
	rm -rf $(BUILD)

# `make install PREFIX=/usr DESTDIR=/tmp/root` (see docs/build-systems.md):
# the compiler, the runtime libraries (libdnnrt.a, libdnnrt_core.a) and
# headers, pkg-config (dnnrt.pc, dnnrt-core.pc) and CMake package files
# and the man page; `make uninstall` with the same variables
# removes exactly those files, then the two directories only dnnc uses
# (include/dnn, lib/cmake/Dnnc) if they are empty. The paths written into
# the .pc files and DnncConfig.cmake leave DESTDIR out.
VERSION      := $(shell sed -n 's/.*DNNC_VERSION "\(.*\)".*/\1/p' compiler/dnnc.h)
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR     ?= $(LIBDIR)/cmake/Dnnc
RUNTIME_H     = $(wildcard runtime/*.h)
PC_FILES      = dnnrt.pc dnnrt-core.pc
INSTALLED     = $(BINDIR)/dnnc $(LIBDIR)/libdnnrt.a $(LIBDIR)/libdnnrt_core.a $(RUNTIME_H:runtime/%=$(INCLUDEDIR)/dnn/%) \
                $(PC_FILES:%=$(PKGCONFIGDIR)/%) $(MANDIR)/man1/dnnc.1 \
                $(CMAKEDIR)/Dnnc.cmake $(CMAKEDIR)/DnncConfig.cmake $(CMAKEDIR)/DnncConfigVersion.cmake
# A directory as the package files name it: ${prefix}/... (.pc) or relative
# (CMake, which finds PREFIX from the config file's own place) when it lies
# under PREFIX, else absolute.
pc_dir        = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
rel_dir       = $(patsubst $(PREFIX)/%,%,$(1))
CMAKE_PREFIX_DIR = $(if $(filter $(PREFIX)/%,$(CMAKEDIR)),$${CMAKE_CURRENT_LIST_DIR}/$(shell echo '$(call rel_dir,$(CMAKEDIR))' | sed 's|[^/][^/]*|..|g'),$(PREFIX))

install: all
	@mkdir -p $(BUILD)/install
	for pc in $(PC_FILES); do \
	    sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBDIR@|$(call pc_dir,$(LIBDIR))|' \
	        -e 's|@INCLUDEDIR@|$(call pc_dir,$(INCLUDEDIR))|' install/$$pc.in >$(BUILD)/install/$$pc || exit 1; done
	sed -e 's|@PREFIX_DIR@|$(CMAKE_PREFIX_DIR)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@BINDIR@|$(call rel_dir,$(BINDIR))|' \
	    -e 's|@LIBDIR@|$(call rel_dir,$(LIBDIR))|' -e 's|@INCLUDEDIR@|$(call rel_dir,$(INCLUDEDIR))|' \
	    cmake/DnncConfig.cmake.in >$(BUILD)/install/DnncConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|' cmake/DnncConfigVersion.cmake.in >$(BUILD)/install/DnncConfigVersion.cmake
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/dnn \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(CMAKEDIR)
	install -m 755 $(BUILD)/dnnc $(DESTDIR)$(BINDIR)/dnnc
	install -m 644 $(BUILD)/libdnnrt.a $(BUILD)/libdnnrt_core.a $(DESTDIR)$(LIBDIR)
	install -m 644 $(RUNTIME_H) $(DESTDIR)$(INCLUDEDIR)/dnn
	install -m 644 $(PC_FILES:%=$(BUILD)/install/%) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 docs/dnnc.1 $(DESTDIR)$(MANDIR)/man1/dnnc.1
	install -m 644 cmake/Dnnc.cmake $(BUILD)/install/DnncConfig.cmake \
	    $(BUILD)/install/DnncConfigVersion.cmake $(DESTDIR)$(CMAKEDIR)

uninstall:
	rm -f $(INSTALLED:%=$(DESTDIR)%)
	@for d in $(DESTDIR)$(INCLUDEDIR)/dnn $(DESTDIR)$(CMAKEDIR); do \
	    if [ -d "$$d" ]; then rmdir "$$d" 2>/dev/null || echo "uninstall: kept $$d (not empty)"; fi; done
