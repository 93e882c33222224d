/* SPDX-License-Identifier: MIT */
/*
 * libnpu: the user-space runtime of the npu-v1 NPU.
 *
 * Opens a device, allocates buffer objects, loads compiled models (.npub
 * files produced by npuc) and runs them, synchronously or asynchronously.
 *
 * Backends: a device is either the kernel driver's DRM device (npu.ko,
 * driver name "npu") or the in-process simulator (libnpusim). Both sit
 * behind one internal backend table: the API does not change with the
 * backend.
 *
 * Errors: every function that can fail returns an int: NPU_OK (0) or a
 * negative enum npu_status code. On failure a human-readable message is
 * stored per thread; npu_last_error() returns it. Functions never abort on
 * bad arguments: NULL pointers, stale (freed / closed) handles, wrong sizes
 * and corrupt model files are reported as NPU_ERR_INVAL / NPU_ERR_FORMAT.
 *
 * Ownership: every object returned through an out pointer is owned by the
 * caller and released with its free / close function. Objects keep what
 * they depend on alive internally: a model keeps its device, a context its
 * model and the buffers bound to it. Closing or freeing a handle makes the
 * handle invalid at once (later calls return NPU_ERR_INVAL, a second free
 * included); the memory goes when the last internal user lets it go.
 *
 * Thread safety: every function may be called from any thread, on any
 * objects. A device and a model are shared freely between threads; runs of
 * different contexts of the same model proceed concurrently (host work in
 * parallel, device jobs queued on the device). One context runs one thing
 * at a time: a second run while one is in progress returns NPU_ERR_BUSY.
 * The bytes of a buffer object are the caller's to synchronise: do not
 * write an input or read an output while a run using it is in progress.
 *
 * Data layout: inputs and outputs are dense, in the layout the source
 * (ONNX) model uses for them (e.g. NCHW), with the shape given by
 * npu_model_tensor_info(). NPU_FMT_FLOAT32: float32 values, libnpu
 * quantises inputs and dequantises outputs with the model's parameters.
 * NPU_FMT_INT8: the raw int8 values the NPU consumes / produces
 * (real = scale * (q - zero_point)).
 */
#ifndef NPU_H
#define NPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libnpu.so exports these and nothing else (visibility and a version script). */
#if defined(__GNUC__)
#define NPU_API __attribute__((visibility("default")))
#else
#define NPU_API
#endif

enum npu_status {
	NPU_OK = 0,
	NPU_ERR_INVAL = -1,		/* bad argument, stale handle, wrong size */
	NPU_ERR_NOMEM = -2,		/* host or device memory exhausted */
	NPU_ERR_NODEV = -3,		/* no such device / backend */
	NPU_ERR_IO = -4,		/* file could not be read or written */
	NPU_ERR_FORMAT = -5,		/* corrupt, truncated or incompatible .npub */
	NPU_ERR_BUSY = -6,		/* the context already has a run in progress */
	NPU_ERR_TIMEOUT = -7,		/* npu_wait: the run has not finished in time */
	NPU_ERR_DEVICE = -8,		/* the device faulted running a job */
	NPU_ERR_UNSUPPORTED = -9,	/* valid request this model / backend cannot do */
	NPU_ERR_STATE = -10,		/* call out of order: unbound input, nothing to wait */
	NPU_ERR_CPU = -11,		/* a CPU fallback step failed */
};

/*
 * Message of the last failed call made by the calling thread ("" if none).
 * The string belongs to the thread and stays valid until its next libnpu call.
 */
NPU_API const char *npu_last_error(void);
/* Static name of a status code ("NPU_ERR_INVAL"), never NULL. */
NPU_API const char *npu_status_name(int status);

/* ------------------------------------------------------------------ */
/* Devices                                                              */
/* ------------------------------------------------------------------ */
typedef struct npu_device npu_device;

/*
 * Opens a device. name: "sim" (the in-process simulator), "drm" (the npu.ko
 * kernel driver: the first /dev/accel or /dev/dri render node whose driver
 * is "npu", or the node the NPU_DRM_NODE environment variable names on a
 * machine with several NPUs), or NULL for the default: the NPU_DEVICE environment variable
 * if set, else the DRM device when one is present, else the simulator.
 * *dev is set on success.
 * Errors: NPU_ERR_INVAL (dev NULL), NPU_ERR_NODEV (unknown name, no npu
 * kernel device for "drm"), NPU_ERR_NOMEM.
 *
 * With the drm backend, runs may also fail with NPU_ERR_TIMEOUT (the job
 * ran past the driver's timeout and was stopped), NPU_ERR_DEVICE with the
 * reason (a device fault; the process's context banned after a hang or an
 * MMU fault; a job lost to a device reset) and NPU_ERR_NODEV (the device
 * went away).
 */
NPU_API int npu_device_open(const char *name, npu_device **dev);
/* Closes a device handle (see Ownership). NPU_ERR_INVAL if stale or NULL. */
NPU_API int npu_device_close(npu_device *dev);
/* Backend name ("sim") into buf (NUL-terminated, truncated to len). */
NPU_API int npu_device_backend(npu_device *dev, char *buf, size_t len);
/*
 * Starts writing a Chrome trace-event timeline (JSON) of every device job to
 * path; npu_device_trace_close() finishes the file. NPU_ERR_UNSUPPORTED if
 * the backend has no timeline, NPU_ERR_IO if the file cannot be written.
 */
NPU_API int npu_device_trace_open(npu_device *dev, const char *path);
NPU_API int npu_device_trace_close(npu_device *dev);

/* ------------------------------------------------------------------ */
/* Buffer objects: memory both the host and the device reach            */
/* ------------------------------------------------------------------ */
typedef struct npu_bo npu_bo;

/* Allocates size (> 0) zeroed bytes. flags must be 0. */
NPU_API int npu_bo_alloc(npu_device *dev, size_t size, uint32_t flags, npu_bo **bo);
/*
 * Host address of the buffer's bytes in *ptr, valid until the buffer is
 * released (after npu_bo_free while a context still holds it bound, until
 * the context lets it go: do not use it after your own free).
 */
NPU_API int npu_bo_map(npu_bo *bo, void **ptr);
/* Size in bytes. */
NPU_API int npu_bo_size(npu_bo *bo, size_t *size);
/* Frees a buffer handle (see Ownership). */
NPU_API int npu_bo_free(npu_bo *bo);

/*
 * dma-buf sharing with other processes and devices (drm backend; the
 * simulator answers NPU_ERR_UNSUPPORTED).
 *
 * npu_bo_export_dmabuf: a new dma-buf file descriptor for bo's memory in
 * *fd (close-on-exec, read-write), the caller's to close; the memory lives
 * until the fd and every handle on it are gone.
 *
 * npu_bo_import_dmabuf: a buffer object over a dma-buf's memory (a camera
 * or display buffer, or another process's npu BO), mapped for the device
 * and the host. fd stays the caller's: the BO holds its own reference.
 * NPU_ERR_INVAL if fd is not a dma-buf. A buffer the device may only read
 * in its exporter stays so in the importer (a device write faults).
 *
 * Bound as a model's input or output, a buffer is used in place (no copy
 * by libnpu) when the format is the tensor's own (float32 for a float
 * graph input, int8 for an int8 one), its layout the stored NHWC (or one
 * where NCHW and NHWC coincide: one channel, or 1x1 spatial) and the
 * offset 64-byte aligned; struct npu_profile's io_copy_bytes shows what
 * was copied.
 */
NPU_API int npu_bo_export_dmabuf(npu_bo *bo, int *fd);
NPU_API int npu_bo_import_dmabuf(npu_device *dev, int fd, npu_bo **bo);

/* ------------------------------------------------------------------ */
/* Models                                                               */
/* ------------------------------------------------------------------ */
typedef struct npu_model npu_model;

/*
 * Loads a .npub: the file is parsed and fully validated (NPU_ERR_FORMAT with
 * the reason if it is corrupt, truncated, of another major version or
 * needs more than the device has), weights are copied to device memory.
 * The _mem variant copies what it needs: buf may be freed on return.
 */
NPU_API int npu_model_load_file(npu_device *dev, const char *path, npu_model **model);
NPU_API int npu_model_load_mem(npu_device *dev, const void *buf, size_t len, npu_model **model);
NPU_API int npu_model_free(npu_model *model);

enum npu_io { NPU_INPUT = 0, NPU_OUTPUT = 1 };

#define NPU_MAX_RANK 8

struct npu_tensor_info {
	char name[128];			/* truncated if longer */
	int rank;			/* 0..NPU_MAX_RANK */
	int64_t dims[NPU_MAX_RANK];	/* shape in the model's layout */
	uint64_t count;			/* elements */
	size_t float_bytes;		/* count * 4 */
	size_t int8_bytes;		/* count */
	int int8_ok;			/* NPU_FMT_INT8 binding supported */
	int float_ok;			/* NPU_FMT_FLOAT32 binding supported */
	float scale;			/* int8 quantisation (when int8_ok) */
	int32_t zero_point;
};

/* Number of graph inputs / outputs in *n. */
NPU_API int npu_model_io_count(npu_model *model, enum npu_io io, uint32_t *n);
/* Description of input / output i. */
NPU_API int npu_model_tensor_info(npu_model *model, enum npu_io io, uint32_t i,
			  struct npu_tensor_info *info);

/* ------------------------------------------------------------------ */
/* Contexts: one model's working memory and bindings                    */
/* ------------------------------------------------------------------ */
typedef struct npu_context npu_context;

/* Allocates the model's intermediate memory for one run at a time. */
NPU_API int npu_context_create(npu_model *model, npu_context **ctx);
/* Frees a context; waits for its run in progress, if any, to finish. */
NPU_API int npu_context_free(npu_context *ctx);

/* Context flags (npu_context_set_flags). */
#define NPU_CONTEXT_REFUSE_NONFINITE	(1u << 0)	/* a run whose float inputs hold
							 * NaN / Inf fails (NPU_ERR_INVAL)
							 * instead of counting them */
/*
 * Sets the context's flags (0 by default: non-finite float inputs are
 * counted in npu_profile.nonfinite_inputs and run). NPU_ERR_INVAL for an
 * unknown flag, NPU_ERR_BUSY during a run.
 */
NPU_API int npu_context_set_flags(npu_context *ctx, uint32_t flags);

enum npu_format {
	NPU_FMT_FLOAT32 = 1,		/* float values, (de)quantised by libnpu */
	NPU_FMT_INT8 = 2,		/* raw int8 values */
};

/*
 * Binds input / output i to bytes [offset, offset + size) of bo, size being
 * the tensor's float_bytes or int8_bytes for fmt (NPU_ERR_INVAL when the
 * buffer is too small, NPU_ERR_UNSUPPORTED if the format is not available
 * for this tensor). The context holds the buffer until it is rebound or
 * the context is freed. NPU_ERR_BUSY during a run.
 */
NPU_API int npu_bind_input(npu_context *ctx, uint32_t i, npu_bo *bo, size_t offset,
		   enum npu_format fmt);
NPU_API int npu_bind_output(npu_context *ctx, uint32_t i, npu_bo *bo, size_t offset,
		    enum npu_format fmt);

/* Device engines, as in npu_hw.h's job report (DMA, MAC, VEC, dispatcher). */
#define NPU_PROFILE_ENGINES 4

/* What one run did. */
struct npu_profile {
	uint64_t wall_ns;		/* host time of the whole run */
	uint64_t host_ns;		/* of which host steps (CPU fallback, (de)quant) */
	uint64_t device_cycles;		/* device clock cycles, summed over jobs */
	uint64_t device_ns;		/* the same in device time */
	uint64_t macs;
	uint64_t dram_read_bytes, dram_write_bytes;
	uint64_t busy_cycles[NPU_PROFILE_ENGINES];
	uint32_t device_jobs;		/* command streams run */
	uint32_t host_steps;		/* host steps run */
	uint64_t io_copy_bytes;		/* bytes copied between bound buffers and the
					 * model's I/O (0: every binding used in place) */
	uint64_t nonfinite_inputs;	/* NaN / Inf values in float-bound inputs (an
					 * int8 input holds NaN as 0, Inf saturated) */
};

/*
 * Runs the model once on the bound inputs, writing the bound outputs.
 * profile may be NULL. Every input and output must be bound
 * (NPU_ERR_STATE). NPU_ERR_DEVICE if a job faulted, NPU_ERR_CPU if a CPU
 * step failed (the message says which).
 */
NPU_API int npu_run(npu_context *ctx, struct npu_profile *profile);
/*
 * Starts a run in the background; completion is signalled on the file
 * descriptor npu_context_fd() gives (readable when done; poll / select /
 * epoll it) and collected with npu_wait().
 */
NPU_API int npu_run_async(npu_context *ctx);
/*
 * The completion file descriptor of ctx (an eventfd owned by the context:
 * do not close it), valid until npu_context_free(). The caller may read it
 * after poll (the usual eventfd pattern); npu_poll() / npu_wait() do not
 * depend on its count. Returns the fd (>= 0) or a negative status.
 */
NPU_API int npu_context_fd(npu_context *ctx);
/*
 * The async run's completion as a sync_file (Linux dma-fence file) in *fd,
 * the caller's to close: poll() it, or hand it to another driver as an
 * in-fence (a display or GPU waiting for the outputs). Offered when the
 * run is device work only: the drm backend, every input and output bound
 * in place (see npu_bo_import_dmabuf) and no host step in the model's
 * plan (int8 graph I/O, no CPU nodes). Otherwise NPU_ERR_UNSUPPORTED with
 * the reason; NPU_ERR_STATE if no async run is in progress or uncollected.
 * The fence signals when the device is done; collect the result with
 * npu_wait() as always (a device fault signals the fence too).
 */
NPU_API int npu_run_fence(npu_context *ctx, int *fd);
/* 1 if the async run has finished (npu_wait returns at once), 0 if not, or an error. */
NPU_API int npu_poll(npu_context *ctx);
/*
 * Waits up to timeout_ms (negative: forever) for the async run, then
 * returns its result as npu_run would and fills profile (may be NULL).
 * NPU_ERR_TIMEOUT if still running (call again), NPU_ERR_STATE if no run
 * was started.
 */
NPU_API int npu_wait(npu_context *ctx, int timeout_ms, struct npu_profile *profile);

#ifdef __cplusplus
}
#endif

#endif /* NPU_H */
