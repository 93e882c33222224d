# make bench: measured figures only.
BENCH_SIM := $(BUILD)/opt/bench-sim

$(BENCH_SIM): tests/bench/bench_sim.c $(LIBNPUSIM_A) $(SIM_HDRS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) $(OPT) $(SIM_INC) -Ifirmware-sim/src $< $(LIBNPUSIM_A) -lm -o $@

bench: $(BENCH_SIM)
	@$(BENCH_SIM)
