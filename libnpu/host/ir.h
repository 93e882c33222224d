/* SPDX-License-Identifier: MIT */
/*
 * npuc graph IR.
 *
 * The importer produces a graph that mirrors ONNX (op type strings,
 * generic attributes) with every tensor's type and shape known after shape
 * inference. Later passes (folding, quantisation, lowering) rewrite it.
 * Tensors and nodes are referred to by index; names are unique.
 * Memory: the graph owns every string, attribute array and constant data
 * buffer reachable from it; npuc_graph_free() releases all of it.
 */
#ifndef NPUC_IR_H
#define NPUC_IR_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define NPUC_MAX_RANK 8
#define NPUC_DIM_UNKNOWN (-1)
/*
 * Memory budgets: a tiny model may declare enormous tensors (Expand to
 * 2^32 elements in 129 bytes). npuc computes no tensor larger than
 * NPUC_MAX_VALUE_BYTES (shape inference refuses it where shapes are static,
 * the float executor where they are computed), and a float run (constant
 * folding, shape refinement, calibration) holds at most NPUC_MAX_LIVE_BYTES
 * of computed values at once. Initializers have their own per-tensor limit
 * (NPUC_MAX_CONST_BYTES, tensor_pb.h).
 */
#define NPUC_MAX_VALUE_BYTES	(UINT64_C(256) << 20)
#define NPUC_MAX_LIVE_BYTES	(UINT64_C(1) << 30)

enum npuc_dtype {
	NPUC_DT_UNDEF = 0,
	NPUC_DT_F32,
	NPUC_DT_U8,
	NPUC_DT_I8,
	NPUC_DT_I32,
	NPUC_DT_I64,
	NPUC_DT_BOOL,
	NPUC_DT_F16,		/* imported (converted to F32 data on load) */
	NPUC_DT_F64,		/* imported (converted to F32 data on load) */
	NPUC_DT_COUNT
};

/* Size in bytes of one element as stored in npuc_tensor.data; 0 if undefined. */
size_t npuc_dtype_size(enum npuc_dtype dt);
const char *npuc_dtype_name(enum npuc_dtype dt);

#define NPUC_T_INPUT	(1u << 0)	/* graph input (fed at run time) */
#define NPUC_T_OUTPUT	(1u << 1)	/* graph output */
#define NPUC_T_CONST	(1u << 2)	/* initializer / constant: data != NULL */

struct npuc_tensor {
	char *name;
	enum npuc_dtype dtype;
	int rank;			/* -1 = not known yet */
	int64_t dims[NPUC_MAX_RANK];	/* NPUC_DIM_UNKNOWN where not known */
	void *data;			/* constants: packed little-endian elements */
	size_t nbytes;			/* size of data */
	int producer;			/* index of the producing node, -1 if none */
	unsigned int flags;
};

enum npuc_attr_type {
	NPUC_ATTR_INT,
	NPUC_ATTR_FLOAT,
	NPUC_ATTR_STRING,
	NPUC_ATTR_INTS,
	NPUC_ATTR_FLOATS,
	NPUC_ATTR_TENSOR,		/* value: index of a constant tensor */
};

struct npuc_attr {
	char *name;
	enum npuc_attr_type type;
	int64_t i;			/* INT; TENSOR: tensor index */
	float f;			/* FLOAT */
	char *s;			/* STRING (NUL-terminated copy) */
	int64_t *ints;			/* INTS */
	float *floats;			/* FLOATS */
	int n;				/* element count of INTS / FLOATS */
};

struct npuc_node {
	char *name;
	char *op;			/* ONNX op_type, e.g. "Conv" */
	char *domain;			/* "" for the default ONNX domain */
	int *in;			/* tensor indices; -1 = omitted optional input */
	int n_in;
	int *out;
	int n_out;
	struct npuc_attr *attrs;
	int n_attrs;
};

struct npuc_graph {
	struct npuc_tensor *t;
	int n_t, cap_t;
	struct npuc_node *nodes;	/* topologically sorted after import */
	int n_nodes, cap_nodes;
	int *inputs, n_inputs;		/* graph inputs (non-constant) in order */
	int *outputs, n_outputs;
	int64_t opset;			/* default-domain opset version */
	char *name;
	void *name_index;		/* private: name -> tensor index */
};


struct npuc_graph *npuc_graph_new(void);
void npuc_graph_free(struct npuc_graph *g);

/* Returns the tensor index, or -1 if no tensor has that name. */
int npuc_graph_find(const struct npuc_graph *g, const char *name);
/*
 * Adds a tensor (name copied; must be unique and nonempty). rank -1 means
 * unknown. Returns its index or -1 (out of memory / duplicate, diag set).
 */
int npuc_graph_add_tensor(struct npuc_graph *g, const char *name, enum npuc_dtype dt,
			  int rank, const int64_t *dims, struct npuc_diag *d);
/* Gives a tensor constant data (takes ownership of data, size checked against shape). */
int npuc_tensor_set_data(struct npuc_graph *g, int t, void *data, size_t nbytes,
			 struct npuc_diag *d);
/*
 * Appends a node (strings copied; in/out arrays copied). Sets producer of
 * outputs. Returns the node index or -1.
 */
int npuc_graph_add_node(struct npuc_graph *g, const char *name, const char *op,
			const char *domain, const int *in, int n_in, const int *out, int n_out,
			struct npuc_diag *d);
/* Attaches an attribute to a node (the graph takes ownership of *a's pointers). */
int npuc_node_add_attr(struct npuc_graph *g, int node, struct npuc_attr *a, struct npuc_diag *d);

/*
 * Attribute constructors: copy name (and string / array contents) and attach
 * them with npuc_node_add_attr(). 0 or -1 (diag set; nothing attached).
 */
int npuc_node_set_int(struct npuc_graph *g, int node, const char *name, int64_t v,
		      struct npuc_diag *d);
int npuc_node_set_float(struct npuc_graph *g, int node, const char *name, float v,
			struct npuc_diag *d);
int npuc_node_set_ints(struct npuc_graph *g, int node, const char *name, const int64_t *v,
		       int n, struct npuc_diag *d);
int npuc_node_set_string(struct npuc_graph *g, int node, const char *name, const char *v,
			 struct npuc_diag *d);

/*
 * Replaces the graph inputs / outputs with copies of in[] / out[] and sets
 * NPUC_T_INPUT / NPUC_T_OUTPUT on those tensors (flags of tensors that were
 * inputs / outputs before are cleared). Fails, changing nothing, on an
 * index out of range or a negative count.
 */
int npuc_graph_set_io(struct npuc_graph *g, const int *in, int n_in, const int *out, int n_out,
		      struct npuc_diag *d);

/* Attribute lookup; NULL if absent. */
const struct npuc_attr *npuc_node_attr(const struct npuc_node *n, const char *name);
int64_t npuc_attr_int(const struct npuc_node *n, const char *name, int64_t def);
float npuc_attr_float(const struct npuc_node *n, const char *name, float def);
const char *npuc_attr_string(const struct npuc_node *n, const char *name, const char *def);

/* Element count of a tensor with fully known shape; -1 otherwise or on overflow. */
int64_t npuc_tensor_numel(const struct npuc_tensor *t);

/*
 * Grows a malloc'd array of elem-sized items (*cap allocated) to hold at
 * least n + 1 items (n < INT_MAX / 2). 0 or -1 (array unchanged).
 */
int npuc_array_grow(void **arr, int *cap, int n, size_t elem);

/* Sorts nodes topologically; fails on cycles or undefined inputs. */
int npuc_graph_toposort(struct npuc_graph *g, struct npuc_diag *d);

/*
 * Merges known type / shape information into tensor t: fills what is
 * unknown, fails (diag names the tensor and what) when a known dtype, rank
 * or dimension disagrees. dt NPUC_DT_UNDEF / rank -1 / NPUC_DIM_UNKNOWN
 * entries add nothing. what prefixes the message (e.g. "value_info").
 */
int npuc_tensor_refine(struct npuc_graph *g, int t, enum npuc_dtype dt, int rank,
		       const int64_t *dims, const char *what, struct npuc_diag *d);

#endif /* NPUC_IR_H */
