# npuc: the offline compiler (ONNX -> .npub). Included by the top Makefile
# after firmware-sim/sim.mk (uses BASE_CFLAGS, OPT, SAN_FLAGS, SIM_INC) and
# before tests/unit/unit.mk (appends to the unit test link).
#
# libnpuc is built from the stage folders below plus the protobuf-c code
# generated at build time from Debian's ONNX schema (package libonnx-dev).
# The schema is copied as onnx.proto so the generated files are always
# onnx.pb-c.{c,h} whichever proto2 variant is installed.
NPUC_PROTO_SRC := $(firstword $(wildcard /usr/include/onnx/onnx.proto \
	/usr/include/onnx/onnx-ml.proto /usr/include/onnx/onnx-operators.proto))
NPUC_GEN       := $(BUILD)/gen/onnx
NPUC_GEN_C     := $(NPUC_GEN)/onnx.pb-c.c
NPUC_GEN_H     := $(NPUC_GEN)/onnx.pb-c.h
PROTOC_C       ?= protoc-c
PROTOBUF_C_CFLAGS := $(shell pkg-config --cflags libprotobuf-c 2>/dev/null)
PROTOBUF_C_LIBS   := $(shell pkg-config --libs libprotobuf-c 2>/dev/null || echo -lprotobuf-c)
# Everything a program linking libnpuc needs (zlib: calibration data files).
NPUC_LDLIBS       := $(PROTOBUF_C_LIBS) $(shell pkg-config --libs zlib 2>/dev/null || echo -lz) \
	$(shell pkg-config --libs nettle 2>/dev/null || echo -lnettle)

# The compiler's stages, one folder each (tests/layers.sh keeps them
# one-directional): frontend (ONNX import, shape inference, QDQ import and
# export) -> passes -> quantize (calibration, quantisation, SQNR) -> lower
# (tiling, scheduling, emission of .npub plans) -> pipeline (npuc_compile,
# dot) -> tools. Below them: libnpu/shared.mk's libnpuhost and libnpub.
NPUC_DIRS := compiler/frontend compiler/passes compiler/quantize compiler/lower compiler/pipeline
NPUC_SRCS := $(wildcard $(addsuffix /*.c,$(NPUC_DIRS)))
NPUC_HDRS := $(wildcard $(addsuffix /*.h,$(NPUC_DIRS))) $(NPUSHARED_HDRS) $(NPUC_GEN_H)
NPUC_INC  := $(addprefix -I,$(NPUC_DIRS)) -I$(NPUC_GEN) $(NPUSHARED_INC) $(PROTOBUF_C_CFLAGS)

NPUC_OPT_CFLAGS := $(BASE_CFLAGS) $(OPT) $(NPUC_INC)
NPUC_SAN_CFLAGS := $(BASE_CFLAGS) -O1 $(SAN_FLAGS) $(NPUC_INC)
# Generated code: same flags; it is warning-clean today, these keep it so
# across protobuf-c versions.
NPUC_GEN_CFLAGS := -Wno-unused-parameter -Wno-missing-prototypes -Wno-shadow

NPUC_OPT_OBJS := $(NPUC_SRCS:%.c=$(BUILD)/opt/%.o) $(BUILD)/opt/npuc-gen/onnx.pb-c.o
NPUC_SAN_OBJS := $(NPUC_SRCS:%.c=$(BUILD)/san/%.o) $(BUILD)/san/npuc-gen/onnx.pb-c.o

LIBNPUC_A   := $(BUILD)/lib/libnpuc.a
LIBNPUC_SAN := $(BUILD)/san/lib/libnpuc.a
# What a program using the compiler links, in order (then libnpusim).
NPUC_LIBS     = $(LIBNPUC_A) $(LIBNPUHOST_A) $(LIBNPUB_A)
NPUC_LIBS_SAN = $(LIBNPUC_SAN) $(LIBNPUHOST_SAN) $(LIBNPUB_SAN)

$(NPUC_GEN_H): $(NPUC_PROTO_SRC)
	@test -n "$(NPUC_PROTO_SRC)" || { echo "npuc: no ONNX schema in /usr/include/onnx" \
		"(install libonnx-dev: make deps)" >&2; exit 1; }
	@mkdir -p $(NPUC_GEN)
	$(call msg,GEN,$@)
	$(Q)cp $(NPUC_PROTO_SRC) $(NPUC_GEN)/onnx.proto
	$(call msg,PROTOC,$@)
	$(Q)$(PROTOC_C) --c_out=$(NPUC_GEN) -I$(NPUC_GEN) $(NPUC_GEN)/onnx.proto
$(NPUC_GEN_C): $(NPUC_GEN_H)

# Static pattern rules: more specific than sim.mk's, and order-only on the
# generated header so it exists before anything including it compiles.
$(filter $(BUILD)/opt/compiler/%,$(NPUC_OPT_OBJS)): $(BUILD)/opt/%.o: %.c $(NPUC_HDRS) \
		| $(NPUC_GEN_H)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NPUC_OPT_CFLAGS) -c $< -o $@

$(filter $(BUILD)/san/compiler/%,$(NPUC_SAN_OBJS)): $(BUILD)/san/%.o: %.c $(NPUC_HDRS) \
		| $(NPUC_GEN_H)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NPUC_SAN_CFLAGS) -c $< -o $@

$(BUILD)/opt/npuc-gen/onnx.pb-c.o: $(NPUC_GEN_C) $(NPUC_GEN_H)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NPUC_OPT_CFLAGS) $(NPUC_GEN_CFLAGS) -c $< -o $@

$(BUILD)/san/npuc-gen/onnx.pb-c.o: $(NPUC_GEN_C) $(NPUC_GEN_H)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(NPUC_SAN_CFLAGS) $(NPUC_GEN_CFLAGS) -c $< -o $@

$(LIBNPUC_A): $(NPUC_OPT_OBJS)
	@mkdir -p $(dir $@)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBNPUC_SAN): $(NPUC_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

lib: $(LIBNPUC_A)

UNIT_LIBS_OPT  += $(NPUC_LIBS)
UNIT_LIBS_SAN  += $(NPUC_LIBS_SAN)
UNIT_LDLIBS    += $(NPUC_LDLIBS)
UNIT_EXTRA_INC += $(NPUC_INC)

$(BUILD)/opt/unit-tests $(BUILD)/san/unit-tests: | $(NPUC_GEN_H)

# libFuzzer harness for the importer (not part of make check):
#   make fuzz-onnx && build/fuzz/fuzz-onnx -max_total_time=300 build/fuzz/corpus
# The corpus is seeded with the models and reference outputs (TensorProto
# files) of the ONNX backend node tests.
FUZZ_CC        ?= clang
NPUC_FUZZ_SRCS := libnpu/npub/diag.c libnpu/host/ir.c \
	$(addprefix compiler/frontend/,onnx_import.c tensor_pb.c shape_infer.c)
NPUC_FUZZ_BIN  := $(BUILD)/fuzz/fuzz-onnx
NPUC_FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(NPUC_INC)
ONNX_NODE_TESTS := /usr/include/onnx/backend/test/data/node

$(NPUC_FUZZ_BIN): compiler/fuzz/fuzz_onnx_import.c $(NPUC_FUZZ_SRCS) $(NPUC_GEN_C) $(NPUC_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(FUZZ_CC) $(NPUC_FUZZ_FLAGS) compiler/fuzz/fuzz_onnx_import.c $(NPUC_FUZZ_SRCS) \
		$(NPUC_GEN_C) $(PROTOBUF_C_LIBS) -lm -o $@

.PHONY: fuzz-onnx
fuzz-onnx: $(NPUC_FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus
	@if [ -d $(ONNX_NODE_TESTS) ] && [ -z "$$(ls -A $(BUILD)/fuzz/corpus)" ]; then \
		for t in $(ONNX_NODE_TESTS)/*; do \
			n=$$(basename $$t); cp $$t/model.onnx $(BUILD)/fuzz/corpus/$$n.onnx; \
			cp $$t/test_data_set_0/output_0.pb $(BUILD)/fuzz/corpus/$$n.pb \
				2>/dev/null || true; \
		done; fi
	@echo "fuzz-onnx: run $(NPUC_FUZZ_BIN) -max_total_time=300 $(BUILD)/fuzz/corpus"

