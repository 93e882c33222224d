# make bench, runtime part: host wall time per inference of the simulator
# backend (npu-run) next to ONNX Runtime's (onnxruntime-node, fetched from
# npm into $(BUILD)/npm by the script) on the same float model. Included by
# the top Makefile after libnpu/libnpu.mk (NPU_RUN) and models/models.mk
# (FMNIST_NPUB, FMNIST_ONNX).
.PHONY: bench-runtime
bench-runtime: deps $(NPU_RUN) $(FMNIST_NPUB)
	@BUILD=$(BUILD) NPU_RUN=$(NPU_RUN) FMNIST_NPUB=$(FMNIST_NPUB) \
		FMNIST_ONNX=$(FMNIST_ONNX) ./tests/bench/bench_runtime.sh

bench: bench-runtime
