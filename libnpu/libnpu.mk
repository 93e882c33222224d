# libnpu: the runtime library (static, shared, pkg-config) and npu-run.
# Included by the top Makefile after compiler/tools/tools.mk (uses
# BASE_CFLAGS, OPT, SAN_FLAGS, libnpu/shared.mk's NPUSHARED_* and
# LIBNPUB_* / LIBNPUHOST_*, LIBNPUSIM_*) and before
# tests/unit/unit.mk. The library itself needs no compiler code, no
# protobuf-c and no ONNX schema: libnpu/src + libnpuhost + libnpub + libnpusim.
LIBNPU_SRCS := $(wildcard libnpu/src/*.c)
LIBNPU_HDRS := libnpu/include/npu.h $(wildcard libnpu/src/*.h) $(NPUSHARED_HDRS)
# The drm backend: libdrm and the kernel uapi (uapi/drm/npu_accel.h).
DRM_CFLAGS  := $(shell pkg-config --cflags libdrm 2>/dev/null || echo -I/usr/include/libdrm)
DRM_LIBS    := $(shell pkg-config --libs libdrm 2>/dev/null || echo -ldrm)
LIBNPU_INC  := -Ilibnpu/include -Ilibnpu/src $(NPUSHARED_INC) -Iuapi $(DRM_CFLAGS)

LIBNPU_OPT_OBJS := $(LIBNPU_SRCS:%.c=$(BUILD)/opt/%.o)
LIBNPU_SAN_OBJS := $(LIBNPU_SRCS:%.c=$(BUILD)/san/%.o)

LIBNPU_A   := $(BUILD)/lib/libnpu.a
# The shared library: SONAME libnpu.so.0, exports exactly npu.h's
# functions (NPU_API and libnpu.map; tests/abi checks it).
LIBNPU_VERSION := 0.1.0
LIBNPU_SONAME  := libnpu.so.0
LIBNPU_SO  := $(BUILD)/lib/libnpu.so.$(LIBNPU_VERSION)
LIBNPU_SAN := $(BUILD)/san/lib/libnpu.a
LIBNPU_PC  := $(BUILD)/lib/pkgconfig/npu.pc
NPU_RUN    := $(BUILD)/opt/npu-run
LIBNPU_LDLIBS := $(NPUSHARED_LDLIBS) $(DRM_LIBS) -lm -pthread
# What libnpu's static archive needs after it, in order.
LIBNPU_DEPS     = $(LIBNPUHOST_A) $(LIBNPUB_A) $(LIBNPUSIM_A)
LIBNPU_DEPS_SAN = $(LIBNPUHOST_SAN) $(LIBNPUB_SAN) $(LIBNPUSIM_SAN)

$(LIBNPU_OPT_OBJS): $(BUILD)/opt/%.o: %.c $(LIBNPU_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) $(OPT) -fvisibility=hidden $(LIBNPU_INC) -c $< -o $@

$(LIBNPU_SAN_OBJS): $(BUILD)/san/%.o: %.c $(LIBNPU_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) $(LIBNPU_INC) -c $< -o $@

$(LIBNPU_A): $(LIBNPU_OPT_OBJS)
	@mkdir -p $(dir $@)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBNPU_SAN): $(LIBNPU_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# The shared library carries the host kernels, the .npub reader and the
# simulator (for NPU_DEVICE=sim); --as-needed keeps DT_NEEDED to what it uses.
$(LIBNPU_SO): $(LIBNPU_OPT_OBJS) $(LIBNPU_DEPS) libnpu/libnpu.map
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(LIBNPU_SONAME) -Wl,--version-script=libnpu/libnpu.map \
		-Wl,--as-needed -o $@ $(LIBNPU_OPT_OBJS) $(LIBNPU_DEPS) $(LIBNPU_LDLIBS)
	$(Q)ln -sf $(notdir $@) $(dir $@)$(LIBNPU_SONAME)
	$(Q)ln -sf $(LIBNPU_SONAME) $(dir $@)libnpu.so

$(LIBNPU_PC):
	@mkdir -p $(dir $@)
	@printf '%s\n' 'prefix=$(abspath $(BUILD))' 'libdir=$${prefix}/lib' \
		'includedir=$(abspath libnpu/include)' '' 'Name: npu' \
		'Description: runtime of the npu-v1 int8 NPU (kernel driver or simulator)' \
		'Version: $(LIBNPU_VERSION)' 'Libs: -L$${libdir} -lnpu' \
		'Libs.private: $(LIBNPU_LDLIBS)' \
		'Cflags: -I$${includedir}' > $@

# npu-run links what libnpu does (its .npy / IDX reader and safe outputs
# come from libnpub), no compiler code.
$(NPU_RUN): libnpu/tools/npu_run.c $(LIBNPU_A) $(LIBNPU_DEPS) $(LIBNPU_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) $(OPT) $(LIBNPU_INC) $< $(LIBNPU_A) $(LIBNPU_DEPS) \
		$(LIBNPU_LDLIBS) -o $@

NPU_RUN_SAN := $(BUILD)/san/npu-run
$(NPU_RUN_SAN): libnpu/tools/npu_run.c $(LIBNPU_SAN) $(LIBNPU_DEPS_SAN) $(LIBNPU_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) $(LIBNPU_INC) $< $(LIBNPU_SAN) \
		$(LIBNPU_DEPS_SAN) $(LIBNPU_LDLIBS) -o $@

lib: $(LIBNPU_A) $(LIBNPU_SO) $(LIBNPU_PC)
tools: $(NPU_RUN)
tools-san: $(NPU_RUN_SAN)

# Link order: libnpu needs libnpuhost, libnpub and libnpusim, so it goes first.
UNIT_LIBS_OPT  := $(LIBNPU_A) $(UNIT_LIBS_OPT)
UNIT_LIBS_SAN  := $(LIBNPU_SAN) $(UNIT_LIBS_SAN)
UNIT_EXTRA_INC += -Ilibnpu/include -Ilibnpu/src -Iuapi $(DRM_CFLAGS)
UNIT_LDLIBS    += $(DRM_LIBS)
