/*
 * plan.h: one plan line (a parsed JSON object) -> one validated case. Pure: no I/O, no clock.
 *
 * Field names are the protocol's (device-agent/README.md, config/agent-protocol.ts). Unknown fields
 * are ignored, because the protocol lets the orchestrator add fields over time; every known field is checked
 * for type and range, and a bad one names the field, what was expected and what was found.
 */
#ifndef PL_PLAN_H
#define PL_PLAN_H

#include <stddef.h>

#include "backend.h"
#include "json.h"
#include "spec.h"
#include "options.h"
#include "weights.h"

#define PL_ID_MAX 256
#define PL_BLOCK_TEXT_MAX 32
#define PL_MAX_THREADS 256
/* Seed used when a plan line has none (device-agent/README.md: the default is 1). */
#define PL_DEFAULT_SEED 1
/* Longest single sleep of the idle op: longer is surely a unit mistake (durationUs, not ms). */
#define PL_MAX_IDLE_US 60000000L

/* Most layers one network line may list. */
#define PL_MAX_NETWORK_LAYERS 1024

/* One layer of a network line: what a case line has for its layer, and where its input comes from. */
typedef struct {
  pl_layer_spec spec;
  char block[PL_BLOCK_TEXT_MAX];
  pl_weights_ref weights;
  int from_previous; /* "input":"previous": reads the output of the layer before it; "own" (default): its own */
} pl_network_layer;

typedef struct {
  int count;
  pl_network_layer *layers; /* count entries, owned by the case (plan_case_free) */
} pl_network;

typedef struct {
  char id[PL_ID_MAX];  /* the line's "id", or "line-N" when it has no usable one */
  int line;            /* 1-based line number in the plan */
  pl_op op;
  pl_layer_spec spec;  /* ncpus > 0 when the line asked for pinning */
  char block[PL_BLOCK_TEXT_MAX]; /* "BRxBC" as written, "" when the line has no block */
  long duration_us;    /* idle only */
  pl_sampling_options sampling;
  pl_backend backend;  /* cpu unless the line says "backend":"gpu" */
  pl_dtype dtype;      /* fp32 unless the line says "dtype":"fp16" (gpu only) */
  pl_weights_ref weights; /* conv, dwconv, fc: the line's "weights" (present 0: seeded) */
  pl_network net;      /* network only: its layers (threads, cpus and seed default from the line) */
} pl_case;

/* Fills out from a parsed plan line. Returns 0, or -1 with a one-line reason in err; out->id is set in both
 * cases (to the line's id when it is a usable string) so the caller can write the error record. */
int plan_from_json(const json_value *root, int line, pl_case *out, char *err, size_t errlen);

/* Frees what plan_from_json allocated for the case (a network's layers); safe on a failed or zeroed case. */
void plan_case_free(pl_case *c);

/* The id of a line that could not even be parsed: "line-N". */
void plan_line_id(int line, char *id, size_t idlen);

#endif
