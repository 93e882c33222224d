/* SPDX-License-Identifier: MIT */
/*
 * .npub: the compiled-model container produced by npuc and loaded by libnpu.
 * Documentation/npub-format.rst describes it in prose; this header is the
 * contract (where they disagree, this header is right).
 *
 * File layout (all multi-byte values little-endian, every record a fixed
 * size with explicit reserved fields that must be zero):
 *
 *   offset 0     struct npub_header (128 bytes)
 *   table_offset section_count x struct npub_section (48 bytes each)
 *   ...          sections, each starting on a 64-byte boundary, not
 *                overlapping each other, the header or the table
 *
 * A section is either a table of fixed-size records (entry_bytes = the
 * record size, count = records) or a blob (entry_bytes = 0, count = 0).
 * Each section has a CRC32 (zlib polynomial) of its bytes; the header has a
 * CRC32 of itself and of the section table. References between records are
 * indices (uint32, NPUB_NONE = none); strings are byte offsets into the
 * STRTAB section (NUL-terminated, offset 0 is the empty string).
 *
 * Versioning: a reader accepts files with its major version and any minor
 * version; a newer minor may add section types (unknown types are skipped
 * after their CRC is checked) and new values of enumerated fields or flag
 * bits (a reader rejects values it does not know with a clear error, so a
 * file only fails where it uses them), but never changes a record layout.
 * Record sizes are stored (section entry_bytes) and must equal the sizes
 * below. History: 1.0 first version; 1.1 adds the tensor element types
 * NPUB_DT_INT32 / INT64 / BOOL and the NPUB_T_U8 flag (integer operands of
 * CPU nodes).
 *
 * The in-memory form (struct npub_model) holds the decoded records; the
 * lowering (lower.h) builds one, npub_write_*() serialises it,
 * npub_read_*() parses and validates a file into one, npub_exec.h runs it.
 */
#ifndef NPUC_NPUB_H
#define NPUC_NPUB_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npub records are little-endian C structs: port the (de)serialisation first"
#endif

#define NPUB_MAGIC		"NPUB\r\n\x1a\n"	/* 8 bytes, no NUL */
#define NPUB_MAGIC_BYTES	8
#define NPUB_VERSION_MAJOR	1u
#define NPUB_VERSION_MINOR	1u	/* see Versioning above */
#define NPUB_ALIGN		64u	/* section and weight-entry alignment */
#define NPUB_NONE		0xffffffffu
#define NPUB_MAX_RANK		8
#define NPUB_MAX_FILE_BYTES	(1ull << 40)	/* sanity bound checked by readers */

/* ------------------------------------------------------------------ */
/* Header and section table                                            */
/* ------------------------------------------------------------------ */
struct npub_header {
	uint8_t magic[NPUB_MAGIC_BYTES];	/* NPUB_MAGIC */
	uint16_t version_major;		/* NPUB_VERSION_MAJOR */
	uint16_t version_minor;
	uint32_t header_bytes;		/* sizeof(struct npub_header) */
	uint64_t file_bytes;		/* size of the whole file */
	uint64_t table_offset;		/* of the section table; multiple of 8 */
	uint32_t section_count;		/* 1..NPUB_MAX_SECTIONS */
	uint32_t section_entry_bytes;	/* sizeof(struct npub_section) */
	uint32_t flags;			/* must be 0 */
	uint32_t isa_version;		/* NPU_ISA_VERSION the streams were built for */
	/* Target configuration the plan was compiled for (npusim_config). */
	uint32_t sram_bytes;		/* a device needs at least this much SRAM */
	uint32_t mac_oc, mac_ic;
	uint32_t dma_bytes_per_cycle, vec_lanes, clock_khz;
	uint32_t reserved[12];		/* must be 0 */
	uint32_t table_crc;		/* CRC32 of the section table */
	uint32_t header_crc;		/* CRC32 of bytes [0, 124) of this header */
};

#define NPUB_MAX_SECTIONS	64u

enum npub_section_type {
	NPUB_SEC_META = 1,		/* 1 x struct npub_meta */
	NPUB_SEC_STRTAB = 2,		/* blob: NUL-terminated strings */
	NPUB_SEC_REGIONS = 3,		/* struct npub_region[] */
	NPUB_SEC_TENSORS = 4,		/* struct npub_tensor[] */
	NPUB_SEC_STREAMS = 5,		/* struct npub_stream[] */
	NPUB_SEC_CMDS = 6,		/* blob: the command streams */
	NPUB_SEC_RELOCS = 7,		/* struct npub_reloc[] */
	NPUB_SEC_STEPS = 8,		/* struct npub_step[]: the execution plan */
	NPUB_SEC_OPERANDS = 9,		/* uint32_t[]: operand lists of steps / CPU nodes */
	NPUB_SEC_LAYERS = 10,		/* struct npub_layer[]: per-node report */
	NPUB_SEC_WEIGHTS = 11,		/* blob: contents of the WEIGHTS region */
	NPUB_SEC_CPU_NODES = 12,	/* struct npub_cpu_node[] */
	NPUB_SEC_CPU_ATTRS = 13,	/* struct npub_attr[] */
	NPUB_SEC_CPU_CONSTS = 14,	/* struct npub_const[] */
	NPUB_SEC_DATA = 15,		/* blob: constants and attribute arrays of CPU nodes */
	NPUB_SEC_QNODES = 16,		/* struct npub_qnode[]: int8 nodes run on the host */
	NPUB_SEC_TYPE_MAX = 16
};

struct npub_section {
	uint32_t type;			/* enum npub_section_type; each type at most once */
	uint32_t flags;			/* must be 0 */
	uint64_t offset;		/* from the start of the file, multiple of NPUB_ALIGN */
	uint64_t size;			/* bytes; = count * entry_bytes for tables */
	uint32_t count;			/* records (tables), 0 for blobs */
	uint32_t entry_bytes;		/* record size (tables), 0 for blobs */
	uint32_t crc;			/* CRC32 of the section's size bytes */
	uint32_t reserved[3];		/* must be 0 */
};

/* ------------------------------------------------------------------ */
/* META: one record                                                    */
/* ------------------------------------------------------------------ */
struct npub_meta {
	uint8_t source_sha256[32];	/* of the source model file (zero if unknown) */
	uint64_t source_bytes;		/* its size */
	uint32_t producer;		/* str: "npuc" */
	uint32_t compiler_version;	/* str: e.g. "0.1.0" */
	uint32_t options;		/* str: the compiler options, as given */
	uint32_t model_name;		/* str */
	int64_t onnx_opset;		/* default-domain opset of the source (CPU nodes) */
	uint64_t arena_bytes;		/* = size of the ARENA region */
	uint64_t arena_lower_bound;	/* max over steps of live activation bytes */
	uint64_t weights_bytes;		/* = size of the WEIGHTS region */
	uint64_t est_cycles;		/* sum of the layers' estimates */
	uint64_t total_macs;
	uint32_t n_inputs, n_outputs;	/* graph inputs / outputs (INPUT / OUTPUT regions) */
	uint32_t reserved[12];		/* must be 0 */
};

/* ------------------------------------------------------------------ */
/* Memory regions                                                      */
/* ------------------------------------------------------------------ */
/*
 * Region 0 is always WEIGHTS (read-only; its bytes are the WEIGHTS
 * section), region 1 always ARENA (intermediate tensors, contents
 * undefined at start), then one INPUT region per graph input (index =
 * position among the graph inputs) and one OUTPUT region per graph output.
 * The runtime maps every region at a base VA aligned to `align` and
 * patches the streams with npub_relocate().
 */
enum npub_region_kind {
	NPUB_REGION_WEIGHTS = 1,
	NPUB_REGION_ARENA = 2,
	NPUB_REGION_INPUT = 3,
	NPUB_REGION_OUTPUT = 4,
};

struct npub_region {
	uint32_t kind;			/* enum npub_region_kind */
	uint32_t index;			/* INPUT/OUTPUT: graph input/output position */
	uint64_t size;			/* bytes; < 2^32 (NPU VAs are 32-bit) */
	uint32_t align;			/* base alignment the runtime honours (power of 2) */
	uint32_t tensor;		/* INPUT/OUTPUT: the tensor it holds, else NPUB_NONE */
	uint32_t reserved[2];		/* must be 0 */
};

#define NPUB_REGION_WEIGHTS_ID	0u
#define NPUB_REGION_ARENA_ID	1u

/* ------------------------------------------------------------------ */
/* Tensors                                                             */
/* ------------------------------------------------------------------ */
/*
 * Every tensor of the plan: int8 activations (real = scale * (q - zp)),
 * float32 tensors (graph boundary, CPU nodes) and, since 1.1, integer
 * tensors only CPU nodes produce or consume (int32 results of ConvInteger,
 * ...). All are stored NHWC (batch 1) as h x w x c elements at (region,
 * offset). onnx_rank/onnx_dims give the shape the source model sees;
 * NPUB_T_NCHW means that shape is NCHW [1, c, h, w] (the runtime
 * transposes at the API and around CPU nodes). NPUB_T_U8 (INT8 only): the
 * source model's type is uint8; the bytes are in the int8 domain
 * (q_i8 = q_u8 ^ 0x80) like every int8 tensor, CPU nodes get uint8 values.
 */
#define NPUB_T_INPUT	(1u << 0)	/* graph input */
#define NPUB_T_OUTPUT	(1u << 1)	/* graph output */
#define NPUB_T_NCHW	(1u << 2)	/* ONNX layout is NCHW */
#define NPUB_T_ALIAS	(1u << 3)	/* shares the bytes of tensor `alias` (reshape) */
#define NPUB_T_U8	(1u << 4)	/* INT8 holding an ONNX uint8 tensor (1.1) */
#define NPUB_T_FLAGS	0x1fu

enum npub_dtype {			/* element size: 1, 4, 4, 8, 1 bytes */
	NPUB_DT_INT8 = 1,
	NPUB_DT_FLOAT32 = 2,
	NPUB_DT_INT32 = 3,		/* 1.1: CPU-side only (CPU nodes, COPY, graph I/O) */
	NPUB_DT_INT64 = 4,		/* 1.1: as INT32 */
	NPUB_DT_BOOL = 5,		/* 1.1: as INT32, one byte 0 / 1 */
	NPUB_DT_MAX = 5
};

struct npub_tensor {
	uint32_t name;			/* str, unique */
	uint32_t flags;			/* NPUB_T_* */
	uint32_t dtype;			/* enum npub_dtype */
	uint32_t region;		/* region index */
	uint64_t offset;		/* in the region */
	uint64_t bytes;			/* h*w*c*element size */
	int32_t h, w, c;		/* >= 1 */
	int32_t zp;			/* int8: -128..127; other types: 0 */
	uint32_t scale_bits;		/* int8: binary32 scale, finite, > 0; float: 0 */
	int32_t onnx_rank;		/* 0..NPUB_MAX_RANK (0: (h, w, c) itself) */
	int64_t onnx_dims[NPUB_MAX_RANK];	/* >= 1, product h*w*c */
	uint32_t alias;			/* NPUB_T_ALIAS: owner of the bytes, else NONE */
	uint32_t reserved[3];		/* must be 0 */
};

/* ------------------------------------------------------------------ */
/* Command streams and relocations                                     */
/* ------------------------------------------------------------------ */
/*
 * A stream is npu-v1 ISA 1.x words at [offset, offset + size) of the CMDS
 * section: BEGIN first, END last, no JUMP or SIGNAL. Every DMA /
 * DMA_DECOMPRESS has exactly one relocation naming its DRAM address word
 * (dram_lo / src_lo, stored as 0 with dram_hi / src_hi 0): the runtime
 * writes base[region] + addend there (64 bits: lo, hi). The loader checks
 * that each transfer stays inside its region and that nothing writes the
 * WEIGHTS or INPUT regions.
 */
struct npub_stream {
	uint64_t offset;		/* in CMDS, multiple of NPUB_ALIGN */
	uint32_t size;			/* bytes: multiple of 4, <= NPU_CMD_MAX_BYTES */
	uint32_t reloc_first, reloc_count;	/* its relocations, sorted by offset */
	uint32_t layer_first, layer_count;	/* layers it executes */
	uint32_t reserved0;		/* must be 0 */
	uint64_t est_cycles;		/* cycle-model estimate of the whole stream */
	uint64_t reserved[2];		/* must be 0 */
};

struct npub_reloc {
	uint32_t stream;		/* stream index */
	uint32_t offset;		/* byte offset of the DRAM address word in the stream */
	uint32_t region;		/* region index */
	uint32_t addend;		/* byte offset in the region (< region size) */
};

/* ------------------------------------------------------------------ */
/* Execution plan                                                      */
/* ------------------------------------------------------------------ */
enum npub_step_kind {
	NPUB_STEP_NPU = 1,		/* run stream `index` on the NPU */
	NPUB_STEP_CPU = 2,		/* run float CPU node `index` (npub_cpu_node) */
	NPUB_STEP_QUANTIZE = 3,		/* float in -> int8 out (out tensor's scale/zp) */
	NPUB_STEP_DEQUANTIZE = 4,	/* int8 in -> float out (in tensor's scale/zp) */
	NPUB_STEP_COPY = 5,		/* copy the bytes of in to out (same size) */
	NPUB_STEP_QCPU = 6,		/* run int8 node `index` (npub_qnode) on the host */
	NPUB_STEP_KIND_MAX = 6
};

/*
 * Steps run in order. in/out are ranges of OPERANDS holding tensor indices:
 * what the step reads and writes (for an NPU step, the tensors its stream
 * reads and writes). Every tensor a step reads is a graph input or written
 * by an earlier step.
 */
struct npub_step {
	uint32_t kind;			/* enum npub_step_kind */
	uint32_t index;			/* stream / CPU node / qnode index, else 0 */
	uint32_t in_first, in_count;
	uint32_t out_first, out_count;
	uint32_t layer;			/* first layer it executes */
	uint32_t reserved;		/* must be 0 */
};

/* ------------------------------------------------------------------ */
/* Per-layer report (one per node of the quantised graph)              */
/* ------------------------------------------------------------------ */
enum npub_target {
	NPUB_TARGET_NPU = 1,		/* command stream */
	NPUB_TARGET_CPU = 2,		/* float node on the CPU (reason says why) */
	NPUB_TARGET_HOST = 3,		/* quantize / dequantize / copy by the runtime */
	NPUB_TARGET_QCPU = 4,		/* int8 node on the CPU (reason says why) */
	NPUB_TARGET_NONE = 5,		/* no work: reshape sharing its input's bytes */
};

struct npub_layer {
	uint32_t name;			/* str */
	uint32_t op;			/* str: "CONV", "POOL", ... or a CPU node's ONNX op */
	uint32_t desc;			/* str: short geometry, e.g. "3x3/2 dw" */
	uint32_t reason;		/* str: why CPU (empty otherwise) */
	uint32_t target;		/* enum npub_target */
	uint32_t step;			/* step executing it */
	uint32_t stream;		/* NPU: stream index, else NPUB_NONE */
	uint32_t cmd_offset, cmd_bytes;	/* NPU: its commands in the stream */
	int32_t in_h, in_w, in_c;	/* first input */
	int32_t out_h, out_w, out_c;	/* first output */
	uint32_t tiles;			/* NPU: tiles (row bands x channel blocks) */
	uint32_t sram_peak;		/* NPU: SRAM bytes used */
	uint32_t reserved0;		/* must be 0 */
	uint64_t macs;			/* MACs (NPU: from the cycle model) */
	uint64_t weight_bytes;		/* weights + qparams + tables in WEIGHTS */
	uint64_t cycles;		/* NPU: cycle-model estimate of the layer alone */
	uint64_t dram_read, dram_write;	/* NPU: bytes (cycle model, without command fetch) */
	uint32_t reserved[4];		/* must be 0 */
};

/* ------------------------------------------------------------------ */
/* Float CPU nodes: one ONNX node each, re-created by the runtime      */
/* ------------------------------------------------------------------ */
/*
 * Inputs are OPERANDS entries: a tensor index, NPUB_OPND_CONST | constant
 * index (struct npub_const), or NPUB_NONE for an omitted optional input.
 * Outputs are tensor indices. The node sees each tensor with its ONNX
 * type: FLOAT32, INT32, INT64, BOOL as stored, INT8 tensors as int8, or
 * as uint8 (bit 7 flipped) when flagged NPUB_T_U8. (Files of version 1.0
 * have float32 CPU operands only.)
 */
#define NPUB_OPND_CONST	0x80000000u

struct npub_cpu_node {
	uint32_t name;			/* str */
	uint32_t op;			/* str: ONNX op_type */
	uint32_t domain;		/* str: "" = ai.onnx */
	uint32_t layer;			/* its layer */
	uint32_t attr_first, attr_count;	/* in CPU_ATTRS */
	uint32_t in_first, in_count;	/* in OPERANDS */
	uint32_t out_first, out_count;	/* in OPERANDS */
	uint32_t reserved[2];		/* must be 0 */
};

enum npub_attr_type {			/* as ONNX / ir.h */
	NPUB_ATTR_INT = 1,
	NPUB_ATTR_FLOAT = 2,
	NPUB_ATTR_STRING = 3,
	NPUB_ATTR_INTS = 4,
	NPUB_ATTR_FLOATS = 5,
	NPUB_ATTR_TENSOR = 6,		/* i = constant index */
};

struct npub_attr {
	uint32_t name;			/* str */
	uint32_t type;			/* enum npub_attr_type */
	int64_t i;			/* INT; TENSOR: constant index */
	uint32_t f_bits;		/* FLOAT: IEEE-754 binary32 */
	uint32_t s;			/* STRING: str */
	uint64_t data_offset;		/* INTS (int64) / FLOATS (binary32): in DATA */
	uint32_t n;			/* INTS / FLOATS: element count */
	uint32_t reserved;		/* must be 0 */
};

enum npub_const_dtype {			/* element types of CPU constants */
	NPUB_CDT_F32 = 1,
	NPUB_CDT_U8 = 2,
	NPUB_CDT_I8 = 3,
	NPUB_CDT_I32 = 4,
	NPUB_CDT_I64 = 5,
	NPUB_CDT_BOOL = 6,
};

struct npub_const {
	uint32_t name;			/* str */
	uint32_t dtype;			/* enum npub_const_dtype */
	int32_t rank;			/* 0..NPUB_MAX_RANK */
	uint32_t reserved0;		/* must be 0 */
	int64_t dims[NPUB_MAX_RANK];	/* >= 0 */
	uint64_t data_offset, bytes;	/* in DATA; bytes = numel * element size */
};

/* ------------------------------------------------------------------ */
/* Int8 nodes run on the host (NPUB_STEP_QCPU)                         */
/* ------------------------------------------------------------------ */
/*
 * A node of the quantised graph that the NPU cannot run as compiled (it
 * does not fit SRAM, or a field exceeds the ISA's limits). The runtime
 * runs it with the int8 reference semantics (qref). Constant data lives
 * in WEIGHTS: data0 = CONV weights [out_c][k_h][k_w][in_c/groups] / LUT
 * table (256) / ELTWISE constant B; data1 = npu_qparam records (CONV:
 * out_c, MATMUL: 1).
 */
enum npub_qop {
	NPUB_QOP_CONV = 1,
	NPUB_QOP_MATMUL = 2,
	NPUB_QOP_ELTWISE = 3,
	NPUB_QOP_POOL = 4,
	NPUB_QOP_LUT = 5,
	NPUB_QOP_CONCAT = 6,
	NPUB_QOP_MAX = 6
};

struct npub_qnode {
	uint32_t op;			/* enum npub_qop */
	uint32_t layer;
	int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w;
	int32_t pad_top, pad_left, pad_bottom, pad_right;
	int32_t groups;			/* CONV */
	int32_t mode;			/* POOL: npu_pool_mode; ELTWISE: npu_eltwise_op */
	int32_t bcast;			/* ELTWISE: npu_bcast */
	int32_t count_pad;		/* POOL */
	uint32_t mult[3], shift[3];	/* ELTWISE: a, b, out; POOL: [0]; MATMUL/CONV: unused */
	int32_t act_min, act_max;
	int32_t w_zp;			/* CONV */
	int32_t b_zp;			/* ELTWISE constant B */
	uint32_t b_scale_bits;		/* ELTWISE constant B */
	uint32_t reserved0;		/* must be 0 */
	uint64_t data0_offset, data0_bytes;	/* in WEIGHTS */
	uint64_t data1_offset, data1_bytes;	/* in WEIGHTS */
	uint32_t in_first, in_count;	/* OPERANDS: tensor indices */
	uint32_t out_first, out_count;
	uint32_t reserved[4];		/* must be 0 */
};

_Static_assert(sizeof(struct npub_header) == 128, "npub header size");
_Static_assert(sizeof(struct npub_section) == 48, "npub section size");
_Static_assert(sizeof(struct npub_meta) == 160, "npub meta size");
_Static_assert(sizeof(struct npub_region) == 32, "npub region size");
_Static_assert(sizeof(struct npub_tensor) == 136, "npub tensor size");
_Static_assert(sizeof(struct npub_stream) == 56, "npub stream size");
_Static_assert(sizeof(struct npub_reloc) == 16, "npub reloc size");
_Static_assert(sizeof(struct npub_step) == 32, "npub step size");
_Static_assert(sizeof(struct npub_layer) == 128, "npub layer size");
_Static_assert(sizeof(struct npub_cpu_node) == 48, "npub cpu node size");
_Static_assert(sizeof(struct npub_attr) == 40, "npub attr size");
_Static_assert(sizeof(struct npub_const) == 96, "npub const size");
_Static_assert(sizeof(struct npub_qnode) == 176, "npub qnode size");

/* ------------------------------------------------------------------ */
/* In-memory model                                                     */
/* ------------------------------------------------------------------ */
struct npub_model {
	struct npub_header hdr;		/* target fields; the rest is derived on write */
	struct npub_meta meta;
	char *strtab;
	uint32_t strtab_size, strtab_cap;
	/* npub_add_str's index of strtab (writer side; offsets, 0 = empty slot) */
	uint32_t *strhash;
	uint32_t strhash_cap, strhash_n;
	struct npub_region *regions;
	uint32_t n_regions;
	struct npub_tensor *tensors;
	uint32_t n_tensors;
	struct npub_stream *streams;
	uint32_t n_streams;
	uint8_t *cmds;
	uint64_t cmds_size;
	struct npub_reloc *relocs;
	uint32_t n_relocs;
	struct npub_step *steps;
	uint32_t n_steps;
	uint32_t *operands;
	uint32_t n_operands;
	struct npub_layer *layers;
	uint32_t n_layers;
	uint8_t *weights;
	uint64_t weights_size;
	struct npub_cpu_node *cpu_nodes;
	uint32_t n_cpu_nodes;
	struct npub_attr *attrs;
	uint32_t n_attrs;
	struct npub_const *consts;
	uint32_t n_consts;
	uint8_t *data;
	uint64_t data_size;
	struct npub_qnode *qnodes;
	uint32_t n_qnodes;
};

struct npub_model *npub_model_new(void);
void npub_model_free(struct npub_model *m);

/* String table: returns the string at offset, "" when out of range (validated models never are). */
const char *npub_str(const struct npub_model *m, uint32_t off);
/* Appends a string (deduplicated); returns its offset or NPUB_NONE on allocation failure. */
uint32_t npub_add_str(struct npub_model *m, const char *s);

/*
 * Checks every cross-reference and invariant of a model (what the reader
 * relies on after parsing; the writer runs it before writing). 0 or -1
 * with a message naming the record.
 */
int npub_validate(const struct npub_model *m, struct npuc_diag *d);

/* Serialise: *out is malloc'd (caller frees). 0 or -1 (diag set). */
int npub_write_mem(const struct npub_model *m, uint8_t **out, size_t *len, struct npuc_diag *d);
int npub_write_file(const struct npub_model *m, const char *path, struct npuc_diag *d);

/* Parse and validate everything; *out owns copies of all data. 0 or -1 (diag set). */
int npub_read_mem(const void *buf, size_t len, struct npub_model **out, struct npuc_diag *d);
int npub_read_file(const char *path, struct npub_model **out, struct npuc_diag *d);

/*
 * Patches a copy of stream `stream` (m->streams[stream].size bytes at
 * cmd) with the region base VAs (base[r] for every region r < n_base;
 * each base aligned as the region requires and base + size <= 2^32).
 * 0 or -1 (diag set).
 */
int npub_relocate(const struct npub_model *m, uint32_t stream, void *cmd, const uint64_t *base,
		  uint32_t n_base, struct npuc_diag *d);

/* CRC32 as the format uses it (zlib's crc32() from its initial value, any length). */
uint32_t npub_crc32(const void *data, uint64_t len);

/* SHA-256 (for meta.source_sha256). */
void npub_sha256(const void *data, size_t len, uint8_t out[32]);

/* Names for reports / messages (never NULL). */
const char *npub_step_kind_name(uint32_t kind);
const char *npub_target_name(uint32_t target);
const char *npub_region_kind_name(uint32_t kind);

#endif /* NPUC_NPUB_H */
