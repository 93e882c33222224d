/* SPDX-License-Identifier: MIT */
/*
 * Value helpers shared by the int8 reference executor (qref.c) and the
 * .npub host steps (npub_exec.c), so both compute byte-identical results:
 * float -> int8 quantisation, NCHW <-> NHWC conversion, the uint8 <-> int8
 * domain flip and the graph-input/-output bookkeeping of the one-node
 * float graphs CPU nodes run in (through ref_float).
 */
#ifndef NPUC_QVALUE_H
#define NPUC_QVALUE_H

#include <stddef.h>
#include <stdint.h>

#include "ir.h"

/*
 * ONNX QuantizeLinear of one value, as ref_float computes it:
 * saturate(rintf(x / scale) + zp) to int8 in float arithmetic, NaN -> 0.
 */
int8_t npuq_quantize1(float x, float scale, int32_t zp);

/*
 * Copies an (h, w, c) tensor of es-byte elements between NHWC (h, w, c)
 * and NCHW (c, h, w): NHWC src -> NCHW dst when to_nchw, else the reverse.
 * dst and src must not overlap.
 */
void npuq_layout_convert(void *dst, const void *src, int h, int w, int c, size_t es,
			 int to_nchw);

/* uint8 <-> the int8 domain in place (q_i8 = q_u8 ^ 0x80, both ways). */
void npuq_flip8(void *p, int64_t n);

/*
 * One-node CPU graphs: marks tensor t of g as a graph input (output when
 * output is nonzero) and appends it to g->inputs (g->outputs). Returns 0,
 * or -1 with "out of memory" in the diag.
 */
int npuq_cpu_graph_io(struct npuc_graph *g, int t, int output, struct npuc_diag *d);

#endif /* NPUC_QVALUE_H */
