/* SPDX-License-Identifier: MIT */
/*
 * Numeric array files, as npuc reads calibration data and npu-run reads
 * inputs.
 *
 * Formats (all read fully, checked against hostile content, never trusted):
 *  - NumPy .npy files, format versions 1.0 and 2.0, C order, element types
 *    float32, float64, uint8, int8 (little endian; big-endian float32 /
 *    float64 are byte-swapped). The header dict is parsed strictly: exactly
 *    the keys 'descr', 'fortran_order' and 'shape', Python literal syntax,
 *    terminated by a newline; the data must be exactly the size the header
 *    announces (no truncation, no trailing bytes).
 *  - IDX files (the MNIST format), optionally gzip-compressed (detected by
 *    content, read through zlib): magic 0x00 0x00 <type> <rank>, rank
 *    big-endian uint32 dimensions, then big-endian data. Types 0x08 uint8,
 *    0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
 */
#ifndef NPUC_ARRAY_FILE_H
#define NPUC_ARRAY_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* Largest file accepted (after decompression). */
#define NPUC_ARRAY_MAX_FILE	(1ull << 30)
/* Most dimensions an array may have. */
#define NPUC_ARRAY_MAX_RANK	8

enum npuc_arr_type {
	NPUC_ARR_U8,
	NPUC_ARR_I8,
	NPUC_ARR_I16,
	NPUC_ARR_I32,
	NPUC_ARR_F32,
	NPUC_ARR_F64,
};

/* A decoded file: native-endian elements of one type, row-major. */
struct npuc_array {
	enum npuc_arr_type type;
	int rank;			/* 0 = scalar */
	int64_t dims[NPUC_ARRAY_MAX_RANK];
	int64_t numel;
	void *data;			/* numel elements (malloc'd, at least 1 byte) */
};

const char *npuc_arr_type_name(enum npuc_arr_type t);
/* Converts elements [first, first + n) to float. The range must be valid. */
void npuc_array_to_float(const struct npuc_array *a, int64_t first, int64_t n, float *out);
void npuc_array_free(struct npuc_array *a);

/*
 * .npy parsing from memory / from a file. what names the source in
 * messages. On failure *out is zeroed and d says why.
 */
int npuc_npy_parse(const void *buf, size_t len, const char *what, struct npuc_array *out,
		   struct npuc_diag *d);
int npuc_npy_load(const char *path, struct npuc_array *out, struct npuc_diag *d);

/* IDX parsing (uncompressed bytes) and loading (plain or gzip file). */
int npuc_idx_parse(const void *buf, size_t len, const char *what, struct npuc_array *out,
		   struct npuc_diag *d);
int npuc_idx_load(const char *path, struct npuc_array *out, struct npuc_diag *d);

/*
 * Loads .npy or IDX (plain or gzip), whichever the content is. Fails with
 * a message naming the file for anything else.
 */
int npuc_array_load(const char *path, struct npuc_array *out, struct npuc_diag *d);

#endif /* NPUC_ARRAY_FILE_H */
