# The runtime's shared parts, each its own small library that the compiler
# and libnpu both link (neither needs protobuf-c nor the ONNX schema):
#   libnpub    libnpu/npub/: the .npub container (format header, validating
#              reader, writer), diagnostics, outputs written safely,
#              .npy / IDX array files
#   libnpuhost libnpu/host/: what runs on the host: the float and int8
#              reference kernels and executors (ref_float, ref_ops_*, qref,
#              over the graph IRs ir / qir), and npub_exec (a plan's host
#              steps, and a whole plan on libnpusim)
# Included by the top Makefile after firmware-sim/sim.mk and before
# compiler/compiler.mk. Layers: tests/layers.sh.
NPUB_SRCS   := $(wildcard libnpu/npub/*.c)
NPUHOST_SRCS := $(wildcard libnpu/host/*.c)
NPUSHARED_HDRS := $(wildcard libnpu/npub/*.h libnpu/host/*.h libnpu/host/*.def) $(SIM_HDRS)
NPUSHARED_INC  := -Ilibnpu/npub -Ilibnpu/host $(SIM_INC)

LIBNPUB_A      := $(BUILD)/lib/libnpub.a
LIBNPUB_SAN    := $(BUILD)/san/lib/libnpub.a
LIBNPUHOST_A   := $(BUILD)/lib/libnpuhost.a
LIBNPUHOST_SAN := $(BUILD)/san/lib/libnpuhost.a
NPUSHARED_LDLIBS := $(shell pkg-config --libs zlib 2>/dev/null || echo -lz) \
	$(shell pkg-config --libs nettle 2>/dev/null || echo -lnettle) -lm

NPUSHARED_SRCS := $(NPUB_SRCS) $(NPUHOST_SRCS)
$(NPUSHARED_SRCS:%.c=$(BUILD)/opt/%.o): $(BUILD)/opt/%.o: %.c $(NPUSHARED_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) $(OPT) -fvisibility=hidden $(NPUSHARED_INC) -c $< -o $@

$(NPUSHARED_SRCS:%.c=$(BUILD)/san/%.o): $(BUILD)/san/%.o: %.c $(NPUSHARED_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) $(NPUSHARED_INC) -c $< -o $@

$(LIBNPUB_A): $(NPUB_SRCS:%.c=$(BUILD)/opt/%.o)
$(LIBNPUB_SAN): $(NPUB_SRCS:%.c=$(BUILD)/san/%.o)
$(LIBNPUHOST_A): $(NPUHOST_SRCS:%.c=$(BUILD)/opt/%.o)
$(LIBNPUHOST_SAN): $(NPUHOST_SRCS:%.c=$(BUILD)/san/%.o)
$(LIBNPUB_A) $(LIBNPUB_SAN) $(LIBNPUHOST_A) $(LIBNPUHOST_SAN):
	@mkdir -p $(dir $@)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

lib: $(LIBNPUB_A) $(LIBNPUHOST_A)
