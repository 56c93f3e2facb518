/*
 * prunelab-agent: the benchmark agent that runs on a phone (or the host). One JSON line per record on
 * stdout and nothing else; diagnostics and usage go to stderr. See device-agent/README.md.
 *
 *   prunelab-agent info
 *   prunelab-agent selftest
 *   prunelab-agent run [--plan FILE]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "info.h"
#include "layer.h"
#include "run.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: prunelab-agent <command>\n"
    "\n"
    "  info                 one JSON line: ABI, build hash, compiler, CPUs and clusters, SIMD features\n"
    "  selftest             every op and scheme against a double-precision reference; exit 1 on a mismatch\n"
    "  selftest --gpu       the same for the GPU backend's OpenCL kernels, fp32 and fp16\n"
    "  run [--plan FILE]    JSON-lines plan from FILE (default: stdin, or FILE '-'), one result line per\n"
    "                       case, then {\"type\":\"done\",...}; exit 0 once the plan has been read through\n"
    "\n"
    "environment: PRUNELAB_SYSFS_ROOT  sysfs tree for telemetry and CPU info (default /sys)\n"
    "             PRUNELAB_OPENCL_LIB  the OpenCL library to dlopen (default: the usual names and vendor paths)\n"
    "             PRUNELAB_GPU_CACHE_DIR  where compiled GPU programs are cached (default: gpu-cache/ beside the agent)\n"
    "             PRUNELAB_GPU_BUILD_OPTIONS  appended to the OpenCL build options\n"
    "exit codes: 0 ok, 1 failure (selftest mismatch, unreadable plan), 2 bad usage\n";

static int usage(const char *problem) {
  if (problem) fprintf(stderr, "prunelab-agent: %s\n\n", problem);
  fputs(usage_text, stderr);
  return EXIT_USAGE;
}

static int cmd_run(int argc, char **argv) {
  const char *path = NULL;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--plan") == 0 && i + 1 < argc) path = argv[++i];
    else if (strncmp(argv[i], "--plan=", 7) == 0) path = argv[i] + 7;
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(NULL);
      return 0;
    }
    else {
      char problem[300];
      snprintf(problem, sizeof problem, "run: unexpected argument '%.200s' (expected --plan FILE)", argv[i]);
      return usage(problem);
    }
  }
  if (!path || strcmp(path, "-") == 0) return run_plan(stdin, stdout);
  FILE *in = fopen(path, "r");
  if (!in) {
    fprintf(stderr, "prunelab-agent: cannot open plan file '%s': %s\n", path, strerror(errno));
    return 1;
  }
  int rc = run_plan(in, stdout);
  fclose(in);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage("missing command");
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(NULL);
    return 0;
  }
  if (strcmp(cmd, "info") == 0) return argc == 2 ? info_print(stdout) : usage("info takes no arguments");
  if (strcmp(cmd, "selftest") == 0) return selftest_main(argc - 1, argv + 1);
  if (strcmp(cmd, "run") == 0) return cmd_run(argc - 2, argv + 2);
  char problem[300];
  snprintf(problem, sizeof problem, "unknown command '%.200s'", cmd);
  return usage(problem);
}
