/* SPDX-License-Identifier: MIT */
/* libnpu internals: handle registry, error reporting, object layouts. */
#ifndef LIBNPU_INTERNAL_H
#define LIBNPU_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "backend.h"
#include "npu.h"
#include "npub.h"

/*
 * Every handle starts with an npu_obj. Live handles are in a global
 * registry: a call first looks its handle up there (by address, without
 * dereferencing it), so stale handles are refused instead of used.
 */
enum npu_obj_type { NPU_OBJ_DEVICE = 1, NPU_OBJ_BO, NPU_OBJ_MODEL, NPU_OBJ_CONTEXT };

struct npu_obj {
	int type;
	unsigned refs;			/* the handle's own + internal users; under the registry lock */
	void (*destroy)(struct npu_obj *o);
};

/* Registers a new object (refs = 1: the handle). 0 or NPU_ERR_NOMEM. */
int npu_obj_register(struct npu_obj *o, int type, void (*destroy)(struct npu_obj *o));
/* Takes a reference on a live handle of that type; NULL (message set) if stale. */
struct npu_obj *npu_obj_get(const void *handle, int type, const char *what);
void npu_obj_ref(struct npu_obj *o);
/* Drops a reference; destroys the object at zero. NULL is ignored. */
void npu_obj_put(struct npu_obj *o);
/* Unregisters a handle (its later uses fail) and drops the handle's reference. */
int npu_obj_kill(const void *handle, int type, const char *what);

/* Sets the thread's message and returns code. */
int npu_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void npu_err_clear(void);

struct npu_device {
	struct npu_obj obj;
	const struct npu_backend_ops *ops;
	struct npu_backend *be;
};

struct npu_bo {
	struct npu_obj obj;
	struct npu_device *dev;		/* referenced */
	struct npu_be_bo *b;
	size_t size;			/* as asked for (the backend may round b->size up) */
};

struct npu_model {
	struct npu_obj obj;
	struct npu_device *dev;		/* referenced */
	struct npub_model *m;
	struct npu_be_bo *weights;
	uint32_t max_stream;		/* bytes of the largest stream */
	/* Per graph input / output: the step whose int8 tensor a raw binding uses. */
	uint32_t *in_qstep, *out_dqstep;	/* NPUB_NONE: the region tensor itself */
	struct npub_host_plan *host_plan;	/* CPU steps prepared at load, shared by runs */
};

/* Graph tensor of input / output i, and the int8 tensor a raw binding uses (or NPUB_NONE). */
void npu_model_io_tensors(const struct npu_model *mo, int output, uint32_t i, uint32_t *t,
			  uint32_t *q);

void npu_model_fill_info(const struct npu_model *mo, int output, uint32_t i,
			 struct npu_tensor_info *info);

#endif /* LIBNPU_INTERNAL_H */
