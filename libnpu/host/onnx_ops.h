/* SPDX-License-Identifier: MIT */
/*
 * The ONNX ops the stack knows (the table is onnx_ops.def): an enum, so
 * stages compare and switch on ops instead of their names, and per-op
 * properties every stage shares.
 */
#ifndef NPUC_ONNX_OPS_H
#define NPUC_ONNX_OPS_H

#include "ir.h"

enum npuc_op {
	NPUC_OP_UNKNOWN = 0,		/* not in the table, or another domain */
#define OP(name, ...) NPUC_OP_##name,
#include "onnx_ops.def"
#undef OP
	NPUC_OP_COUNT
};

/* Flags (onnx_ops.def's last column). */
enum {
	OPF_NO_FOLD = 1 << 0,		/* never constant-folded (quantisation nodes) */
	OPF_FUSE_ACT = 1 << 1,		/* a following Relu / Clip fuses into its output stage */
	OPF_PLAIN_UNARY = 1 << 2,	/* a function of one input without attributes */
	OPF_Q_PASS = 1 << 3,		/* on 8-bit data, the output keeps input 0's quantisation */
	OPF_QUANTIZED = 1 << 4,		/* marks a pre-quantised model (QDQ / QOperator / integer) */
	/* QOperator layouts: where the output's scale and zero point are inputs. */
	OPF_QOP_BINARY = 1 << 5,	/* x, sx, zx, w, sw, zw, sy, zy (QLinearConv ...) */
	OPF_QOP_UNARY = 1 << 6,		/* x, sx, zx, sy, zy (QLinearSigmoid ...) */
	OPF_QOP_CONCAT = 1 << 7,	/* sy, zy, then (x, sx, zx) per input */
};

/*
 * The op of (domain, op_type): "" and "ai.onnx" are the default domain;
 * NPUC_OP_UNKNOWN for an op the table lacks or names another domain. NULL
 * domain = default.
 */
enum npuc_op npuc_op_find(const char *domain, const char *op_type);
/* The op of a graph node. */
enum npuc_op npuc_node_op(const struct npuc_node *n);
/* The op's ONNX name ("?" for NPUC_OP_UNKNOWN or out of range). */
const char *npuc_op_name(enum npuc_op op);
/* The op's domain: "" (ai.onnx) or "com.microsoft". */
const char *npuc_op_domain(enum npuc_op op);
/* The op's OPF_* flags (0 for NPUC_OP_UNKNOWN). */
unsigned npuc_op_flags(enum npuc_op op);
/* Whether the node's op has all of the flags. */
int npuc_node_has(const struct npuc_node *n, unsigned flags);

#endif /* NPUC_ONNX_OPS_H */
