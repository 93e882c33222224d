# libnpusim: built twice, optimised (opt/) and with sanitizers (san/).
SIM_SRCS := $(wildcard firmware-sim/src/*.c)
SIM_HDRS := $(wildcard firmware-sim/include/*.h firmware-sim/src/*.h)
SIM_INC  := -Ifirmware-sim/include

OPT_CFLAGS := $(BASE_CFLAGS) $(OPT) $(SIM_INC)
SAN_CFLAGS := $(BASE_CFLAGS) -O1 $(SAN_FLAGS) $(SIM_INC)

SIM_OPT_OBJS := $(SIM_SRCS:%.c=$(BUILD)/opt/%.o)
SIM_SAN_OBJS := $(SIM_SRCS:%.c=$(BUILD)/san/%.o)

LIBNPUSIM_A   := $(BUILD)/lib/libnpusim.a
LIBNPUSIM_SO  := $(BUILD)/lib/libnpusim.so
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

$(LIBNPUSIM_SO): $(SIM_OPT_OBJS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) -shared -pthread -Wl,-soname,libnpusim.so.1 -o $@ $^

$(LIBNPUSIM_SAN): $(SIM_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

lib: $(LIBNPUSIM_A) $(LIBNPUSIM_SO)
