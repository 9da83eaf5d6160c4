# dnnc — top-level build.  `make` builds build/dnnc and build/libdnnrt.a,
# `make check` runs every test, `make demo` shows the example models.
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -std=c99 -Wall -Wextra -Wpedantic -Wno-unused-function
BUILD    = build
PREFIX  ?= /usr/local

COMPILER_SRC = $(wildcard compiler/*.c)
COMPILER_OBJ = $(COMPILER_SRC:compiler/%.c=$(BUILD)/compiler/%.o) \
               $(BUILD)/grammar/parser.o $(BUILD)/grammar/lexer.o
RUNTIME_SRC  = $(wildcard runtime/*.c)
RUNTIME_OBJ  = $(RUNTIME_SRC:runtime/%.c=$(BUILD)/runtime/%.o)

.PHONY: all deps check demo clean goldens bench
all: deps $(BUILD)/dnnc $(BUILD)/libdnnrt.a

# Installs flex/bison/... only when missing (see scripts/deps.sh).
deps:
	@sh scripts/deps.sh build

$(BUILD)/grammar/parser.c $(BUILD)/grammar/parser.h: grammar/parser.y
	@mkdir -p $(@D)
	bison -Wall -Werror --defines=$(BUILD)/grammar/parser.h -o $(BUILD)/grammar/parser.c $<

$(BUILD)/grammar/lexer.c $(BUILD)/grammar/lexer.h: grammar/lexer.l
	@mkdir -p $(@D)
	flex --header-file=$(BUILD)/grammar/lexer.h -o $(BUILD)/grammar/lexer.c $<

# Generated scanner/parser: built without -Wpedantic's noise about flex internals.
$(BUILD)/grammar/%.o: $(BUILD)/grammar/%.c $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.h compiler/dnnc.h
	$(CC) $(CFLAGS) -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wno-unused-function -Wno-sign-compare -Icompiler -I$(BUILD)/grammar -c $< -o $@

$(BUILD)/compiler/%.o: compiler/%.c compiler/dnnc.h compiler/ops.def $(BUILD)/grammar/parser.h $(BUILD)/grammar/lexer.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Icompiler -I$(BUILD)/grammar -Iruntime -c $< -o $@

# dnnc reads safetensors files (--emit=selftest) with the runtime's own core.
$(BUILD)/dnnc: $(COMPILER_OBJ) $(BUILD)/runtime/dnn_core.o
	$(CC) $(CFLAGS) -o $@ $^ -lm

$(BUILD)/runtime/%.o: runtime/%.c $(wildcard runtime/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Iruntime -c $< -o $@

$(BUILD)/libdnnrt.a: $(RUNTIME_OBJ)
	rm -f $@
	ar rcs $@ $^

check: all
	@sh scripts/deps.sh check
	@sh tests/run.sh

demo: all
	@sh scripts/deps.sh demo
	@sh examples/demo.sh

# Re-derives the PyTorch golden files (needs python3-torch; CI does this).
goldens: all
	@sh scripts/deps.sh goldens
	/usr/bin/python3 tests/golden/make_goldens.py

clean:
	rm -rf $(BUILD)
