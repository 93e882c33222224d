# The shared libraries' ABI: exports exactly the public headers' functions
# under a symbol version with a versioned SONAME, and an application that
# includes only <npu.h> builds against libnpu.so through pkg-config and
# runs a model. Included by the top Makefile after libnpu/libnpu.mk.
ABI_CONSUMER := $(BUILD)/abi/consumer

$(ABI_CONSUMER): tests/abi/consumer.c libnpu/include/npu.h $(LIBNPU_SO) $(LIBNPU_PC)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) -std=c11 $(WARN) -O2 $< $$(PKG_CONFIG_PATH=$(BUILD)/lib/pkgconfig \
		pkg-config --cflags --libs npu) -o $@

.PHONY: check-abi
check-abi: deps $(LIBNPU_SO) $(LIBNPUSIM_SO) $(ABI_CONSUMER) $(FMNIST_NPUB) $(NPU_RUN) $(LIBNPUC_A)
	@echo "== shared library ABI"
	@./tests/abi/check_exports.sh $(LIBNPU_SO) libnpu/include/npu.h npu_ NPU_0 $(LIBNPU_SONAME)
	@./tests/abi/check_exports.sh $(LIBNPUSIM_SO) firmware-sim/include/npusim.h npusim_ \
		NPUSIM_1 $(LIBNPUSIM_SONAME)
	@! readelf -d $(LIBNPU_SO) | grep -E 'NEEDED.*(protobuf|onnx)' || \
		{ echo "FAIL: libnpu.so needs the compiler's protobuf-c"; exit 1; }
	@echo "abi: libnpu.so needs $$(readelf -d $(LIBNPU_SO) | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')(no protobuf-c, no compiler code)"
	@./tests/abi/check_no_compiler.sh $(NPU_RUN) $(LIBNPUC_A)
	@LD_LIBRARY_PATH=$(BUILD)/lib NPU_DEVICE=sim $(ABI_CONSUMER) $(FMNIST_NPUB) | \
		grep -q '^consumer: sim backend, 10 outputs, top-1 class' && \
		echo "abi: an application with only <npu.h> and pkg-config's flags runs a model" || \
		{ echo "FAIL: the <npu.h>-only application"; exit 1; }

check: check-abi
