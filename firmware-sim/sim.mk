# libnpusim: built twice, optimised (opt/) and with sanitizers (san/).
SIM_SRCS := $(wildcard firmware-sim/src/*.c)
SIM_HDRS := $(wildcard firmware-sim/include/*.h firmware-sim/src/*.h)
SIM_INC  := -Ifirmware-sim/include

# Hidden by default: only NPUSIM_API functions leave the shared library.
OPT_CFLAGS := $(BASE_CFLAGS) $(OPT) -fvisibility=hidden $(SIM_INC)
SAN_CFLAGS := $(BASE_CFLAGS) -O1 $(SAN_FLAGS) $(SIM_INC)

SIM_OPT_OBJS := $(SIM_SRCS:%.c=$(BUILD)/opt/%.o)
SIM_SAN_OBJS := $(SIM_SRCS:%.c=$(BUILD)/san/%.o)

LIBNPUSIM_A   := $(BUILD)/lib/libnpusim.a
# The shared library: SONAME libnpusim.so.1, exports exactly npusim.h's
# functions (NPUSIM_API and libnpusim.map; tests/abi checks it).
LIBNPUSIM_SONAME := libnpusim.so.1
LIBNPUSIM_SO  := $(BUILD)/lib/$(LIBNPUSIM_SONAME).0.0
LIBNPUSIM_SAN := $(BUILD)/san/lib/libnpusim.a

$(BUILD)/opt/%.o: %.c $(SIM_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(OPT_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c $(SIM_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(SAN_CFLAGS) -c $< -o $@

$(LIBNPUSIM_A): $(SIM_OPT_OBJS)
	@mkdir -p $(dir $@)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBNPUSIM_SO): $(SIM_OPT_OBJS) firmware-sim/libnpusim.map
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) -shared -pthread -Wl,-soname,$(LIBNPUSIM_SONAME) \
		-Wl,--version-script=firmware-sim/libnpusim.map -o $@ $(SIM_OPT_OBJS)
	$(Q)ln -sf $(notdir $@) $(dir $@)$(LIBNPUSIM_SONAME)
	$(Q)ln -sf $(LIBNPUSIM_SONAME) $(dir $@)libnpusim.so

$(LIBNPUSIM_SAN): $(SIM_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

lib: $(LIBNPUSIM_A) $(LIBNPUSIM_SO)
