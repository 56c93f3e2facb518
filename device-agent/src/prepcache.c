#include "prepcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  pl_op op;
  int cin, cout, h, w, k, stride, pad;
  uint64_t seed;
  char weights_id[96]; /* spec.h: "" for seeded weights, else the real weights' file hash and offset */
} shape_key;

typedef struct {
  pl_scheme scheme;
  int br, bc;
  double sparsity, row_share;
  uint8_t *mask;
  prune_result res;
} mask_entry;

typedef struct {
  int threads, ncpus;
  int cpus[PL_MAX_CPUS];
  pl_dense_kernel kernel;
} dense_entry;

struct prepcache {
  int selected;
  shape_key key;
  float *w, *in;
  long nw, nin;
  mask_entry masks[PREPCACHE_MAX_MASKS];
  int nmasks;
  long mask_bytes;
  dense_entry dense[PREPCACHE_MAX_DENSE];
  int ndense;
  prepcache_counts counts;
};

static shape_key key_of(const pl_layer_spec *s) {
  shape_key k;
  memset(&k, 0, sizeof k); /* padding too: keys are compared with memcmp */
  k.op = s->op, k.cin = s->cin, k.cout = s->cout, k.h = s->h, k.w = s->w, k.k = s->k;
  k.stride = s->stride, k.pad = s->pad, k.seed = s->seed;
  snprintf(k.weights_id, sizeof k.weights_id, "%s", s->weights_id);
  return k;
}

static void clear(prepcache *c) {
  free(c->w);
  free(c->in);
  c->w = c->in = NULL;
  c->nw = c->nin = 0;
  for (int i = 0; i < c->nmasks; i++) free(c->masks[i].mask);
  c->nmasks = 0;
  c->mask_bytes = 0;
  c->ndense = 0;
}

prepcache *prepcache_create(void) { return calloc(1, sizeof(prepcache)); }

void prepcache_free(prepcache *c) {
  if (!c) return;
  clear(c);
  free(c);
}

void prepcache_select(prepcache *c, const pl_layer_spec *spec) {
  shape_key k = key_of(spec);
  if (c->selected && memcmp(&k, &c->key, sizeof k) == 0) return;
  clear(c);
  c->key = k;
  c->selected = 1;
}

int prepcache_get_data(const prepcache *c, long nw, long nin, float *w, float *in) {
  prepcache *m = (prepcache *)c; /* counters only */
  if (!c->w || c->nw != nw || c->nin != nin) {
    m->counts.data_misses++;
    return -1;
  }
  memcpy(w, c->w, sizeof *w * (size_t)nw);
  memcpy(in, c->in, sizeof *in * (size_t)nin);
  m->counts.data_hits++;
  return 0;
}

int prepcache_put_data(prepcache *c, long nw, long nin, const float *w, const float *in) {
  free(c->w);
  free(c->in);
  c->w = malloc(sizeof *w * (size_t)(nw > 0 ? nw : 1));
  c->in = malloc(sizeof *in * (size_t)(nin > 0 ? nin : 1));
  if (!c->w || !c->in) {
    free(c->w);
    free(c->in);
    c->w = c->in = NULL;
    return -1;
  }
  memcpy(c->w, w, sizeof *w * (size_t)nw);
  memcpy(c->in, in, sizeof *in * (size_t)nin);
  c->nw = nw, c->nin = nin;
  return 0;
}

/* Which fields decide a mask: the scheme's own (a block only for block schemes, the row share only for bcr),
 * so e.g. a dense case with a stray block still finds the dense mask. Sparsity is compared exactly: the mask
 * is a function of the double the plan line gave. */
static int mask_matches(const mask_entry *e, const pl_layer_spec *s) {
  return e->scheme == s->scheme && e->br == s->br && e->bc == s->bc && e->sparsity == s->sparsity &&
         e->row_share == s->bcr_row_share;
}

int prepcache_get_mask(const prepcache *c, const pl_layer_spec *spec, long n, uint8_t *mask, prune_result *out) {
  prepcache *m = (prepcache *)c;
  for (int i = 0; i < c->nmasks; i++) {
    if (!mask_matches(&c->masks[i], spec)) continue;
    memcpy(mask, c->masks[i].mask, (size_t)n);
    *out = c->masks[i].res;
    m->counts.mask_hits++;
    return 0;
  }
  m->counts.mask_misses++;
  return -1;
}

void prepcache_put_mask(prepcache *c, const pl_layer_spec *spec, long n, const uint8_t *mask, const prune_result *res) {
  if (c->nmasks >= PREPCACHE_MAX_MASKS || c->mask_bytes + n > PREPCACHE_MASK_BUDGET_BYTES) return;
  uint8_t *copy = malloc((size_t)(n > 0 ? n : 1));
  if (!copy) return;
  memcpy(copy, mask, (size_t)n);
  c->masks[c->nmasks++] = (mask_entry){spec->scheme, spec->br, spec->bc, spec->sparsity, spec->bcr_row_share, copy, *res};
  c->mask_bytes += n;
}

static int dense_matches(const dense_entry *e, const pl_layer_spec *s) {
  return e->threads == s->threads && e->ncpus == s->ncpus && memcmp(e->cpus, s->cpus, sizeof(int) * (size_t)s->ncpus) == 0;
}

pl_dense_kernel prepcache_get_dense(const prepcache *c, const pl_layer_spec *spec) {
  prepcache *m = (prepcache *)c;
  for (int i = 0; i < c->ndense; i++)
    if (dense_matches(&c->dense[i], spec)) {
      m->counts.dense_hits++;
      return c->dense[i].kernel;
    }
  m->counts.dense_misses++;
  return PL_DENSE_AUTO;
}

void prepcache_put_dense(prepcache *c, const pl_layer_spec *spec, pl_dense_kernel kernel) {
  if (c->ndense >= PREPCACHE_MAX_DENSE) return;
  dense_entry *e = &c->dense[c->ndense++];
  e->threads = spec->threads, e->ncpus = spec->ncpus, e->kernel = kernel;
  memcpy(e->cpus, spec->cpus, sizeof(int) * (size_t)spec->ncpus);
}

prepcache_counts prepcache_counts_get(const prepcache *c) { return c->counts; }
