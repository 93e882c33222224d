// SPDX-License-Identifier: MIT
/* The ONNX op table's names, domains and flags, and lookup by name. */
#include <stdlib.h>
#include <string.h>

#include "onnx_ops.h"

enum { DOM_ONNX, DOM_MS };

static const struct {
	const char *name;
	unsigned char domain;
	unsigned flags;
} rows[NPUC_OP_COUNT] = {
	[NPUC_OP_UNKNOWN] = { "?", DOM_ONNX, 0 },
#define OP(name, dom, ref, shape, min_in, min_in_new, since, quant, qdq, flags) \
	[NPUC_OP_##name] = { #name, DOM_##dom, flags },
#include "onnx_ops.def"
#undef OP
};

static int cmp_name(const void *key, const void *row)
{
	return strcmp(key, *(const char *const *)row);
}

enum npuc_op npuc_op_find(const char *domain, const char *op_type)
{
	const char *const *hit;
	size_t i;
	int dom;

	if (!op_type)
		return NPUC_OP_UNKNOWN;
	if (!domain || !domain[0] || !strcmp(domain, "ai.onnx"))
		dom = DOM_ONNX;
	else if (!strcmp(domain, "com.microsoft"))
		dom = DOM_MS;
	else
		return NPUC_OP_UNKNOWN;
	/* rows[1..] are in strcmp order of the names (onnx_ops.def); name is first. */
	hit = bsearch(op_type, &rows[1], NPUC_OP_COUNT - 1, sizeof(rows[0]), cmp_name);
	if (!hit)
		return NPUC_OP_UNKNOWN;
	i = (size_t)((const char *)hit - (const char *)rows) / sizeof(rows[0]);
	return rows[i].domain == dom ? (enum npuc_op)i : NPUC_OP_UNKNOWN;
}

enum npuc_op npuc_node_op(const struct npuc_node *n)
{
	return n ? npuc_op_find(n->domain, n->op) : NPUC_OP_UNKNOWN;
}

const char *npuc_op_name(enum npuc_op op)
{
	return op > NPUC_OP_UNKNOWN && op < NPUC_OP_COUNT ? rows[op].name : "?";
}

const char *npuc_op_domain(enum npuc_op op)
{
	return op > NPUC_OP_UNKNOWN && op < NPUC_OP_COUNT && rows[op].domain == DOM_MS ?
	       "com.microsoft" : "";
}

unsigned npuc_op_flags(enum npuc_op op)
{
	return op > NPUC_OP_UNKNOWN && op < NPUC_OP_COUNT ? rows[op].flags : 0;
}

int npuc_node_has(const struct npuc_node *n, unsigned flags)
{
	return (npuc_op_flags(npuc_node_op(n)) & flags) == flags;
}
