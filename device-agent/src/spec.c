/* spec: the name tables of ops and schemes, in the order of their enums (spec.h). */
#include "spec.h"

#include <string.h>

static const char *const scheme_names[] = {"dense", "unstructured", "filter", "channel", "pattern", "bcr", "block-punched"};
static const char *const op_names[] = {"conv", "dwconv", "fc", "idle", "network"};
#define NSCHEMES (int)(sizeof scheme_names / sizeof *scheme_names)
#define NOPS (int)(sizeof op_names / sizeof *op_names)

const char *spec_scheme_name(pl_scheme s) { return (int)s >= 0 && (int)s < NSCHEMES ? scheme_names[s] : "unknown"; }

int spec_scheme_parse(const char *name, pl_scheme *out) {
  for (int i = 0; i < NSCHEMES; i++)
    if (strcmp(name, scheme_names[i]) == 0) {
      *out = (pl_scheme)i;
      return 0;
    }
  return -1;
}

const char *spec_op_name(pl_op op) { return (int)op >= 0 && (int)op < NOPS ? op_names[op] : "unknown"; }

int spec_op_parse(const char *name, pl_op *out) {
  for (int i = 0; i < NOPS; i++)
    if (strcmp(name, op_names[i]) == 0) {
      *out = (pl_op)i;
      return 0;
    }
  return -1;
}
