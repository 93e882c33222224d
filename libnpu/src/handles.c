// SPDX-License-Identifier: MIT
/*
 * libnpu: the registry of live handles. A call looks its handle up here
 * (by address, without dereferencing it), so a stale handle is refused
 * instead of used; references keep an object alive while a call uses it.
 */
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct npu_obj **reg;
static size_t reg_n, reg_cap;

int npu_obj_register(struct npu_obj *o, int type, void (*destroy)(struct npu_obj *o))
{
	int rc = 0;

	o->type = type;
	o->refs = 1;
	o->destroy = destroy;
	pthread_mutex_lock(&reg_lock);
	if (reg_n == reg_cap) {
		size_t cap = reg_cap ? 2 * reg_cap : 64;
		struct npu_obj **n = realloc(reg, cap * sizeof(*n));

		if (n) {
			reg = n;
			reg_cap = cap;
		}
	}
	if (reg_n < reg_cap)
		reg[reg_n++] = o;
	else
		rc = npu_err(NPU_ERR_NOMEM, "out of memory registering a handle");
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

/* Index of a live handle of that type, or reg_n. Registry lock held. */
static size_t reg_find(const void *handle, int type)
{
	for (size_t i = 0; i < reg_n; i++)
		if ((const void *)reg[i] == handle)
			return reg[i]->type == type ? i : reg_n;
	return reg_n;
}

struct npu_obj *npu_obj_get(const void *handle, int type, const char *what)
{
	struct npu_obj *o = NULL;
	size_t i;

	if (!handle) {
		npu_err(NPU_ERR_INVAL, "%s is NULL", what);
		return NULL;
	}
	pthread_mutex_lock(&reg_lock);
	i = reg_find(handle, type);
	if (i < reg_n) {
		o = reg[i];
		o->refs++;
	}
	pthread_mutex_unlock(&reg_lock);
	if (!o)
		npu_err(NPU_ERR_INVAL, "%s %p is not a live handle (freed, closed or never valid)",
			what, handle);
	return o;
}

void npu_obj_ref(struct npu_obj *o)
{
	pthread_mutex_lock(&reg_lock);
	o->refs++;
	pthread_mutex_unlock(&reg_lock);
}

void npu_obj_put(struct npu_obj *o)
{
	unsigned left;

	if (!o)
		return;
	pthread_mutex_lock(&reg_lock);
	left = --o->refs;
	pthread_mutex_unlock(&reg_lock);
	if (!left)
		o->destroy(o);
}

int npu_obj_kill(const void *handle, int type, const char *what)
{
	struct npu_obj *o = NULL;
	size_t i;

	if (!handle)
		return npu_err(NPU_ERR_INVAL, "%s is NULL", what);
	pthread_mutex_lock(&reg_lock);
	i = reg_find(handle, type);
	if (i < reg_n) {
		o = reg[i];
		reg[i] = reg[--reg_n];
	}
	if (!reg_n) {
		free(reg);
		reg = NULL;
		reg_cap = 0;
	}
	pthread_mutex_unlock(&reg_lock);
	if (!o)
		return npu_err(NPU_ERR_INVAL, "%s %p is not a live handle (already freed?)",
			       what, handle);
	npu_obj_put(o);
	return NPU_OK;
}
