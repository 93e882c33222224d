# The bundled models, compiled with npuc, and their accuracy checks.
FMNIST_DATA  ?= /usr/share/datasets/fashion-mnist
FMNIST_ONNX  := models/fmnist/fmnist.onnx
FMNIST_NPUB  := $(BUILD)/models/fmnist.npub
# Preprocessing of models/fmnist/README.md: x = pixel / 255. Calibration on
# the first 500 training images; the test set stays unseen until evaluation.
FMNIST_NPUC_FLAGS := --calib $(FMNIST_DATA)/train-images-idx3-ubyte.gz \
	--calib-scale 0.00392156862745098 --calib-limit 500
FMNIST_EVAL_ARGS := $(FMNIST_ONNX) $(FMNIST_NPUB) $(FMNIST_DATA)/t10k-images-idx3-ubyte.gz \
	$(FMNIST_DATA)/t10k-labels-idx1-ubyte.gz

$(FMNIST_NPUB): $(FMNIST_ONNX) $(NPUC_BIN)
	@mkdir -p $(dir $@)
	$(call msg,NPUC,$@)
	$(Q)$(NPUC_BIN) $(FMNIST_ONNX) -o $@ $(FMNIST_NPUC_FLAGS)

# The prune-then-fine-tune model (models/fmnist/prune_finetune.py): its zeros
# stored compressed with no option; issue 6's targets checked on it.
FMNIST_P75_ONNX := models/fmnist/fmnist_pruned75.onnx
FMNIST_P75_NPUB := $(BUILD)/models/fmnist_pruned75.npub

$(FMNIST_P75_NPUB): $(FMNIST_P75_ONNX) $(NPUC_BIN)
	@mkdir -p $(dir $@)
	$(call msg,NPUC,$@)
	$(Q)$(NPUC_BIN) $(FMNIST_P75_ONNX) -o $@ $(FMNIST_NPUC_FLAGS)

models: $(FMNIST_NPUB) $(FMNIST_P75_NPUB)

# int8 top-1 on the 10,000 test images within 0.5 points of float (issue #3).
.PHONY: models check-models
check-models: deps $(FMNIST_NPUB) $(FMNIST_P75_NPUB) $(NPUC_EVAL)
	@echo "== Fashion-MNIST: float vs int8 on the 10,000 test images"
	@$(NPUC_EVAL) $(FMNIST_EVAL_ARGS) --max-drop 0.5 2>/dev/null
	@echo "== Fashion-MNIST, 75 % pruned and fine-tuned: int8 within 0.5 points, 6x smaller"
	@$(NPUC_EVAL) $(FMNIST_P75_ONNX) $(FMNIST_P75_NPUB) \
		$(FMNIST_DATA)/t10k-images-idx3-ubyte.gz $(FMNIST_DATA)/t10k-labels-idx1-ubyte.gz \
		--max-drop 0.5 2>/dev/null
	@n=$$(stat -c %s $(FMNIST_P75_NPUB)); f=$$(stat -c %s $(FMNIST_ONNX)); \
		echo "$(FMNIST_P75_NPUB): $$n bytes, $$f / $$n = $$((f * 10 / n / 10)).$$((f * 10 / n % 10))x smaller than $(FMNIST_ONNX)"; \
		[ $$((n * 6)) -le $$f ] || { echo "FAIL: less than 6x smaller"; exit 1; }

check: check-models
