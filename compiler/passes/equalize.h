/* SPDX-License-Identifier: MIT */
/*
 * Cross-layer equalisation (Nagel et al. 2019, "Data-Free Quantization
 * through Weight Equalization and Bias Correction"), on the float graph
 * before calibration (npuc --equalize).
 *
 * For a Conv A (any group: depthwise too) whose output channels reach one
 * reader B (a Conv, grouped or depthwise too, or a Gemm behind Flatten)
 * through ops that commute with a positive scale (ReLU, LeakyReLU,
 * pooling; not ReLU6 or sigmoid), channel i may be divided by s_i in A
 * (its filter and bias) and multiplied back in B's weights reading it: the
 * model computes the same. With s_i = sqrt(r1_i / r2_i), r1_i = max |A's
 * filter i| and r2_i = max |B's weights on input i|, both become
 * sqrt(r1_i r2_i): channels whose weights were tiny against the layer's
 * largest stop losing their precision to one per-tensor scale, and a
 * depthwise layer's filters stop spanning orders of magnitude. Chains
 * share layers (A's reader is the next pair's Conv), so all pairs are
 * equalised again until no scale moves by more than 0.1 % (at most 8
 * sweeps). With per-channel weight scales A is already fine per channel;
 * what still gains is B (its per-output scale covers all its inputs) and
 * the activation ranges between.
 */
#ifndef NPUC_EQUALIZE_H
#define NPUC_EQUALIZE_H

#include "ir.h"

struct npuc_equalize_stats {
	int pairs;			/* Conv -> reader pairs equalised */
	int sweeps;			/* passes over them until settled */
};

int npuc_equalize(struct npuc_graph *g, struct npuc_equalize_stats *st, struct npuc_diag *d);

#endif /* NPUC_EQUALIZE_H */
