/* plan.c: validation of one plan line into a pl_case (see plan.h). */
#include "plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Geometry limits: generous for any real network, small enough that sizes stay far from int overflow. */
#define PLAN_MAX_DIM 65536L
#define PLAN_MAX_KERNEL 64L
#define PLAN_MAX_ELEMENTS (1L << 28) /* 1 GiB of fp32 per weight or activation tensor */
#define PLAN_MAX_CPU_ID 1023L        /* CPU_SETSIZE - 1 */
#define PLAN_MAX_SEED 9007199254740992.0 /* 2^53: the largest integer a JSON double carries exactly */

enum { FIELD_OK = 0, FIELD_ABSENT = 1, FIELD_BAD = -1 };

typedef struct {
  const json_value *root;
  char *err;
  size_t errlen;
  const char *needs; /* "a conv line needs ...", appended to "missing field" messages */
} plan_reader;

static void describe(const json_value *v, char *buf, size_t len) {
  if (v->type == JSON_NUMBER) snprintf(buf, len, "%.17g", v->number);
  else if (v->type == JSON_STRING) snprintf(buf, len, "\"%.40s\"%s", v->string, strlen(v->string) > 40 ? "..." : "");
  else if (v->type == JSON_BOOL) snprintf(buf, len, "%s", v->boolean ? "true" : "false");
  else snprintf(buf, len, "%s", json_type_name(v->type));
}

static int missing(plan_reader *r, const char *key) {
  snprintf(r->err, r->errlen, "missing field \"%s\" (%s)", key, r->needs);
  return FIELD_BAD;
}

static int read_long(plan_reader *r, const char *key, int required, long min, long max, long *out) {
  const json_value *v = json_get(r->root, key);
  if (!v) return required ? missing(r, key) : FIELD_ABSENT;
  if (v->type != JSON_NUMBER || v->number != floor(v->number) || v->number < (double)min || v->number > (double)max) {
    char seen[64];
    describe(v, seen, sizeof seen);
    snprintf(r->err, r->errlen, "field \"%s\" must be an integer in [%ld, %ld], got %s", key, min, max, seen);
    return FIELD_BAD;
  }
  *out = (long)v->number;
  return FIELD_OK;
}

static int read_int(plan_reader *r, const char *key, int required, long min, long max, int *out) {
  long x;
  int rc = read_long(r, key, required, min, max, &x);
  if (rc == FIELD_OK) *out = (int)x;
  return rc;
}

/* A number in [min, max] (max_open: [min, max)). */
static int read_double(plan_reader *r, const char *key, int required, double min, double max, int max_open, double *out) {
  const json_value *v = json_get(r->root, key);
  if (!v) return required ? missing(r, key) : FIELD_ABSENT;
  if (v->type != JSON_NUMBER || v->number < min || v->number > max || (max_open && v->number == max)) {
    char seen[64];
    describe(v, seen, sizeof seen);
    snprintf(r->err, r->errlen, "field \"%s\" must be a number in [%g, %g%s, got %s", key, min, max, max_open ? ")" : "]", seen);
    return FIELD_BAD;
  }
  *out = v->number;
  return FIELD_OK;
}

static int read_string(plan_reader *r, const char *key, int required, const char **out) {
  const json_value *v = json_get(r->root, key);
  if (!v) return required ? missing(r, key) : FIELD_ABSENT;
  if (v->type != JSON_STRING) {
    char seen[64];
    describe(v, seen, sizeof seen);
    snprintf(r->err, r->errlen, "field \"%s\" must be a string, got %s", key, seen);
    return FIELD_BAD;
  }
  *out = v->string;
  return FIELD_OK;
}

/* "BRxBC" with both numbers positive and no leading zeros, as config/vocabulary.ts parses it. */
static int parse_block(const char *text, int *br, int *bc) {
  const char *p = text;
  long v[2];
  for (int i = 0; i < 2; i++) {
    if (*p < '1' || *p > '9') return -1;
    long x = 0;
    while (*p >= '0' && *p <= '9') {
      x = x * 10 + (*p++ - '0');
      if (x > PLAN_MAX_DIM) return -1;
    }
    v[i] = x;
    if (i == 0 && *p++ != 'x') return -1;
  }
  if (*p != '\0') return -1;
  *br = (int)v[0];
  *bc = (int)v[1];
  return 0;
}

static int read_id(const json_value *root, int line, char *id, size_t idlen, char *err, size_t errlen) {
  plan_line_id(line, id, idlen);
  if (!root || root->type != JSON_OBJECT) {
    snprintf(err, errlen, "a plan line must be a JSON object, got %s", root ? json_type_name(root->type) : "nothing");
    return -1;
  }
  const json_value *v = json_get(root, "id");
  if (!v) {
    snprintf(err, errlen, "missing field \"id\" (every plan line needs a string id)");
    return -1;
  }
  if (v->type != JSON_STRING || v->string[0] == '\0' || strlen(v->string) >= idlen) {
    char seen[64];
    describe(v, seen, sizeof seen);
    snprintf(err, errlen, "field \"id\" must be a non-empty string of at most %zu bytes, got %s", idlen - 1, seen);
    return -1;
  }
  snprintf(id, idlen, "%s", v->string);
  return 0;
}

static int read_sampling(plan_reader *r, pl_sampling_options *o) {
  *o = pl_sampling_defaults();
  long x;
  int rc;
  if ((rc = read_long(r, "warmup", 0, 0, 1000000, &x)) == FIELD_BAD) return -1;
  if (rc == FIELD_OK) o->warmup = (int)x;
  if (read_long(r, "minReps", 0, 1, 10000000, &o->min_reps) == FIELD_BAD) return -1;
  if (read_double(r, "minTimeMs", 0, 0, 1e7, 0, &o->min_time_ms) == FIELD_BAD) return -1;
  if (read_long(r, "maxReps", 0, 1, 10000000, &o->max_reps) == FIELD_BAD) return -1;
  if (read_double(r, "maxTimeMs", 0, 0.001, 1e8, 0, &o->max_time_ms) == FIELD_BAD) return -1;
  if (read_double(r, "ciRelWidth", 0, 0, 1, 1, &o->ci_rel_width) == FIELD_BAD) return -1;
  if (o->max_reps < o->min_reps) {
    snprintf(r->err, r->errlen, "maxReps %ld is below minReps %ld: raise maxReps (default %d) or lower minReps",
             o->max_reps, o->min_reps, PL_DEFAULT_MAX_REPS);
    return -1;
  }
  if (o->max_time_ms < o->min_time_ms) {
    snprintf(r->err, r->errlen, "maxTimeMs %g is below minTimeMs %g: raise maxTimeMs (default %g) or lower minTimeMs",
             o->max_time_ms, o->min_time_ms, PL_DEFAULT_MAX_TIME_MS);
    return -1;
  }
  return 0;
}

static int read_cpus(plan_reader *r, pl_layer_spec *spec) {
  const json_value *v = json_get(r->root, "cpus");
  spec->ncpus = 0;
  if (!v) return 0;
  if (v->type != JSON_ARRAY || v->count == 0 || v->count > PL_MAX_CPUS) {
    snprintf(r->err, r->errlen,
             "field \"cpus\" must be an array of 1 to %d CPU ids (omit it to keep the current affinity), got %s",
             PL_MAX_CPUS, v->type == JSON_ARRAY ? (v->count == 0 ? "an empty array" : "too many ids") : json_type_name(v->type));
    return -1;
  }
  for (size_t i = 0; i < v->count; i++) {
    const json_value *item = v->items[i];
    if (item->type != JSON_NUMBER || item->number != floor(item->number) || item->number < 0 || item->number > PLAN_MAX_CPU_ID) {
      char seen[64];
      describe(item, seen, sizeof seen);
      snprintf(r->err, r->errlen, "field \"cpus\"[%zu] must be a CPU id in [0, %ld], got %s", i, PLAN_MAX_CPU_ID, seen);
      return -1;
    }
    int cpu = (int)item->number;
    for (int j = 0; j < spec->ncpus; j++)
      if (spec->cpus[j] == cpu) {
        snprintf(r->err, r->errlen, "field \"cpus\" lists cpu %d twice", cpu);
        return -1;
      }
    spec->cpus[spec->ncpus++] = cpu;
  }
  return 0;
}

static int read_conv_geometry(plan_reader *r, pl_layer_spec *s) {
  if (read_int(r, "cin", 1, 1, PLAN_MAX_DIM, &s->cin) || read_int(r, "cout", 1, 1, PLAN_MAX_DIM, &s->cout) ||
      read_int(r, "h", 1, 1, PLAN_MAX_DIM, &s->h) || read_int(r, "w", 1, 1, PLAN_MAX_DIM, &s->w) ||
      read_int(r, "k", 1, 1, PLAN_MAX_KERNEL, &s->k) || read_int(r, "stride", 1, 1, PLAN_MAX_KERNEL, &s->stride) ||
      read_int(r, "pad", 1, 0, PLAN_MAX_KERNEL, &s->pad))
    return -1;
  if (s->op == PL_OP_DWCONV && s->cout != s->cin) {
    snprintf(r->err, r->errlen, "dwconv needs cout == cin (one filter per channel), got cin=%d cout=%d", s->cin, s->cout);
    return -1;
  }
  if (s->h + 2 * s->pad < s->k || s->w + 2 * s->pad < s->k) {
    snprintf(r->err, r->errlen, "kernel k=%d is larger than the padded input %dx%d (h, w plus 2*pad=%d)", s->k, s->h, s->w, 2 * s->pad);
    return -1;
  }
  double weights = (double)s->cout * (s->op == PL_OP_DWCONV ? 1 : s->cin) * s->k * s->k;
  double activations = (double)s->cin * s->h * s->w;
  if (weights > PLAN_MAX_ELEMENTS || activations > PLAN_MAX_ELEMENTS) {
    snprintf(r->err, r->errlen, "layer too large: %.0f weights and %.0f input values (limit %ld each)", weights, activations, PLAN_MAX_ELEMENTS);
    return -1;
  }
  return 0;
}

static int read_fc_geometry(plan_reader *r, pl_layer_spec *s) {
  if (read_int(r, "in", 1, 1, 1L << 24, &s->cin) || read_int(r, "out", 1, 1, 1L << 24, &s->cout)) return -1;
  if ((double)s->cin * s->cout > PLAN_MAX_ELEMENTS) {
    snprintf(r->err, r->errlen, "layer too large: %dx%d weights (limit %ld)", s->cout, s->cin, PLAN_MAX_ELEMENTS);
    return -1;
  }
  s->h = s->w = s->k = s->stride = 1;
  s->pad = 0;
  return 0;
}

static int read_pruning(plan_reader *r, char *block_text, size_t block_len, pl_layer_spec *s) {
  const char *scheme;
  if (read_string(r, "scheme", 1, &scheme)) return -1;
  if (spec_scheme_parse(scheme, &s->scheme) != 0) {
    snprintf(r->err, r->errlen,
             "unknown scheme \"%.40s\" (expected dense, unstructured, filter, channel, pattern, bcr or block-punched)", scheme);
    return -1;
  }
  if (read_double(r, "sparsity", 1, 0, 1, 1, &s->sparsity)) return -1;
  s->bcr_row_share = 0;
  if (read_double(r, "bcrRowShare", 0, 0, 1, 0, &s->bcr_row_share) == FIELD_BAD) return -1;

  const char *block = NULL;
  int rc = read_string(r, "block", 0, &block);
  if (rc == FIELD_BAD) return -1;
  int br = 0, bc = 0;
  if (rc == FIELD_OK) {
    if (parse_block(block, &br, &bc) != 0) {
      snprintf(r->err, r->errlen, "field \"block\" must be BRxBC with positive integers (e.g. \"8x4\"), got \"%.40s\"", block);
      return -1;
    }
    snprintf(block_text, block_len, "%s", block);
  }
  int blocky = s->scheme == PL_SCHEME_BCR || s->scheme == PL_SCHEME_BLOCK_PUNCHED;
  if (blocky && rc != FIELD_OK) {
    snprintf(r->err, r->errlen, "scheme %s needs field \"block\" (BRxBC, e.g. \"8x4\")", scheme);
    return -1;
  }
  /* spec.h: br/bc are 0 for schemes without blocks; the block text is still echoed in the result. */
  s->br = blocky ? br : 0;
  s->bc = blocky ? bc : 0;
  return 0;
}

/* "backend" and "dtype": fp16 is a GPU storage type, the CPU kernels are fp32 only. */
static int read_backend(plan_reader *r, pl_case *c) {
  const char *text;
  int rc = read_string(r, "backend", 0, &text);
  if (rc == FIELD_BAD) return -1;
  if (rc == FIELD_OK) {
    if (strcmp(text, "gpu") == 0) c->backend = PL_BACKEND_GPU;
    else if (strcmp(text, "cpu") != 0) {
      snprintf(r->err, r->errlen, "field \"backend\" must be \"cpu\" or \"gpu\", got \"%.40s\"", text);
      return -1;
    }
  }
  rc = read_string(r, "dtype", 0, &text);
  if (rc == FIELD_BAD) return -1;
  if (rc == FIELD_OK) {
    if (strcmp(text, "fp16") == 0) c->dtype = PL_DTYPE_FP16;
    else if (strcmp(text, "fp32") != 0) {
      snprintf(r->err, r->errlen, "field \"dtype\" must be \"fp32\" or \"fp16\", got \"%.40s\"", text);
      return -1;
    }
  }
  if (c->dtype == PL_DTYPE_FP16 && c->backend != PL_BACKEND_GPU) {
    snprintf(r->err, r->errlen, "dtype fp16 needs \"backend\":\"gpu\" (the CPU kernels are fp32 only)");
    return -1;
  }
  if (c->backend == PL_BACKEND_GPU && (c->op == PL_OP_IDLE || c->op == PL_OP_NETWORK)) {
    snprintf(r->err, r->errlen, "op %s has no GPU backend (a network runs on the CPU only): drop \"backend\":\"gpu\"",
             spec_op_name(c->op));
    return -1;
  }
  return 0;
}

/* "weights": {"path", "offset", "sha256"} (weights.h). Absent: seeded weights. */
static int read_weights(plan_reader *r, pl_weights_ref *ref, pl_layer_spec *s) {
  memset(ref, 0, sizeof *ref);
  s->weights = NULL;
  s->weights_id[0] = '\0';
  const json_value *v = json_get(r->root, "weights");
  if (!v) return 0;
  const char *what = "field \"weights\" must be {\"path\": string, \"offset\": integer >= 0, \"sha256\": 64 lowercase hex}";
  if (v->type != JSON_OBJECT) {
    snprintf(r->err, r->errlen, "%s, got %s", what, json_type_name(v->type));
    return -1;
  }
  const json_value *path = json_get(v, "path"), *offset = json_get(v, "offset"), *sha = json_get(v, "sha256");
  if (!path || path->type != JSON_STRING || path->string[0] == '\0' || strlen(path->string) >= sizeof ref->path) {
    snprintf(r->err, r->errlen, "%s; \"path\" is %s", what,
             !path ? "missing" : path->type != JSON_STRING ? json_type_name(path->type) : "empty or too long");
    return -1;
  }
  if (!offset || offset->type != JSON_NUMBER || offset->number != floor(offset->number) || offset->number < 0 ||
      offset->number > PLAN_MAX_SEED) {
    char seen[64] = "missing";
    if (offset) describe(offset, seen, sizeof seen);
    snprintf(r->err, r->errlen, "%s; \"offset\" is %s", what, seen);
    return -1;
  }
  int hex_ok = sha && sha->type == JSON_STRING && strlen(sha->string) == 64;
  for (int i = 0; hex_ok && i < 64; i++) {
    char ch = sha->string[i];
    hex_ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
  }
  if (!hex_ok) {
    char seen[64] = "missing";
    if (sha) describe(sha, seen, sizeof seen);
    snprintf(r->err, r->errlen, "%s; \"sha256\" is %s", what, seen);
    return -1;
  }
  ref->present = 1;
  snprintf(ref->path, sizeof ref->path, "%s", path->string);
  ref->offset = (long long)offset->number;
  snprintf(ref->sha256, sizeof ref->sha256, "%s", sha->string);
  snprintf(s->weights_id, sizeof s->weights_id, "%s@%lld", ref->sha256, ref->offset);
  return 0;
}

/* The fields of one layer (a case line's, or one entry of a network's "layers"): op, geometry, pruning,
 * weights. The spec arrives with seed, threads and cpus set; a layer's own "seed" overrides. */
static int read_layer(plan_reader *r, pl_layer_spec *s, char *block, size_t block_len, pl_weights_ref *weights) {
  double seed_d;
  int rc = read_double(r, "seed", 0, 0, PLAN_MAX_SEED, 0, &seed_d);
  if (rc == FIELD_BAD) return -1;
  if (rc == FIELD_OK && seed_d != floor(seed_d)) {
    snprintf(r->err, r->errlen, "field \"seed\" must be an integer in [0, 2^53], got %.17g", seed_d);
    return -1;
  }
  if (rc == FIELD_OK) s->seed = (uint64_t)seed_d;
  if (s->op == PL_OP_FC) {
    r->needs = "an fc layer needs in, out, scheme, sparsity";
    if (read_fc_geometry(r, s)) return -1;
  } else {
    r->needs = s->op == PL_OP_CONV ? "a conv layer needs cin, cout, h, w, k, stride, pad, scheme, sparsity"
                                   : "a dwconv layer needs cin, cout, h, w, k, stride, pad, scheme, sparsity";
    if (read_conv_geometry(r, s)) return -1;
  }
  if (read_pruning(r, block, block_len, s)) return -1;
  return read_weights(r, weights, s);
}

/* One entry of a network's "layers": an object with a layer's fields and "input" ("own" or "previous"). */
static int read_network_layer(plan_reader *r, const pl_layer_spec *base, pl_network_layer *out, int index) {
  if (r->root->type != JSON_OBJECT) {
    snprintf(r->err, r->errlen, "must be an object (a layer: op, shape, scheme, sparsity, ...), got %s",
             json_type_name(r->root->type));
    return -1;
  }
  out->spec = *base;
  const char *op;
  r->needs = "a network layer needs op";
  if (read_string(r, "op", 1, &op)) return -1;
  if (spec_op_parse(op, &out->spec.op) != 0 || out->spec.op == PL_OP_IDLE || out->spec.op == PL_OP_NETWORK) {
    snprintf(r->err, r->errlen, "field \"op\" must be conv, dwconv or fc in a network layer, got \"%.40s\"", op);
    return -1;
  }
  const char *input = "own";
  if (read_string(r, "input", 0, &input) == FIELD_BAD) return -1;
  if (strcmp(input, "own") != 0 && strcmp(input, "previous") != 0) {
    snprintf(r->err, r->errlen, "field \"input\" must be \"own\" or \"previous\", got \"%.40s\"", input);
    return -1;
  }
  out->from_previous = strcmp(input, "previous") == 0;
  if (out->from_previous && index == 0) {
    snprintf(r->err, r->errlen, "field \"input\" is \"previous\" on the first layer: there is no layer before it");
    return -1;
  }
  return read_layer(r, &out->spec, out->block, sizeof out->block, &out->weights);
}

/* "layers": 1 to PL_MAX_NETWORK_LAYERS layer objects; a bad one is named by its index. */
static int read_network(plan_reader *r, pl_case *c) {
  const json_value *v = json_get(r->root, "layers");
  if (!v || v->type != JSON_ARRAY || v->count == 0 || v->count > PL_MAX_NETWORK_LAYERS) {
    snprintf(r->err, r->errlen, "a network line needs field \"layers\": an array of 1 to %d layer objects, got %s",
             PL_MAX_NETWORK_LAYERS, !v ? "nothing" : v->type != JSON_ARRAY ? json_type_name(v->type) : v->count == 0 ? "an empty array" : "too many");
    return -1;
  }
  c->net.layers = calloc(v->count, sizeof *c->net.layers);
  if (!c->net.layers) {
    snprintf(r->err, r->errlen, "out of memory for %zu network layers", v->count);
    return -1;
  }
  c->net.count = (int)v->count;
  for (size_t i = 0; i < v->count; i++) {
    plan_reader layer = {.root = v->items[i], .err = r->err, .errlen = r->errlen, .needs = ""};
    if (read_network_layer(&layer, &c->spec, &c->net.layers[i], (int)i) != 0) {
      char inner[512];
      snprintf(inner, sizeof inner, "%s", r->err);
      snprintf(r->err, r->errlen, "layers[%zu]: %s", i, inner);
      return -1;
    }
  }
  return 0;
}

void plan_case_free(pl_case *c) {
  free(c->net.layers);
  c->net.layers = NULL;
  c->net.count = 0;
}

void plan_line_id(int line, char *id, size_t idlen) { snprintf(id, idlen, "line-%d", line); }

int plan_from_json(const json_value *root, int line, pl_case *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  out->line = line;
  if (read_id(root, line, out->id, sizeof out->id, err, errlen)) return -1;

  plan_reader r = {.root = root, .err = err, .errlen = errlen, .needs = "every plan line needs id and op"};
  const char *op;
  if (read_string(&r, "op", 1, &op)) return -1;
  if (spec_op_parse(op, &out->op) != 0) {
    snprintf(err, errlen, "unknown op \"%.40s\" (expected conv, dwconv, fc, idle or network)", op);
    return -1;
  }
  pl_layer_spec *s = &out->spec;
  s->op = out->op;

  long seed = PL_DEFAULT_SEED;
  double seed_d;
  int rc = read_double(&r, "seed", 0, 0, PLAN_MAX_SEED, 0, &seed_d);
  if (rc == FIELD_BAD) return -1;
  if (rc == FIELD_OK && seed_d != floor(seed_d)) {
    snprintf(err, errlen, "field \"seed\" must be an integer in [0, 2^53], got %.17g", seed_d);
    return -1;
  }
  s->seed = rc == FIELD_OK ? (uint64_t)seed_d : (uint64_t)seed;
  s->threads = 1;
  if (read_int(&r, "threads", 0, 1, PL_MAX_THREADS, &s->threads) == FIELD_BAD) return -1;
  if (read_cpus(&r, s)) return -1;
  if (read_backend(&r, out)) return -1;
  if (read_sampling(&r, &out->sampling)) return -1;

  if (out->op == PL_OP_IDLE) {
    r.needs = "an idle line needs durationUs";
    return read_long(&r, "durationUs", 1, 0, PL_MAX_IDLE_US, &out->duration_us) ? -1 : 0;
  }
  if (out->op == PL_OP_NETWORK) return read_network(&r, out);
  return read_layer(&r, s, out->block, sizeof out->block, &out->weights);
}
