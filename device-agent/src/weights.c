/* weights.c: real weights from a file, checked by sha256 (see weights.h). */
#define _FILE_OFFSET_BITS 64
#define _POSIX_C_SOURCE 200809L
#include "weights.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WEIGHTS_MAX_FILES 64
#define WEIGHTS_READ_CHUNK (1 << 20)

typedef struct {
  char path[PL_WEIGHTS_PATH_MAX];
  long long size;
  long long mtime_ns;
  char hex[SHA256_HEX_CHARS];
} hashed_file;

struct weights_cache {
  hashed_file files[WEIGHTS_MAX_FILES];
  int nfiles, next; /* past WEIGHTS_MAX_FILES the oldest entry is replaced */
  long hashed, reused;
};

weights_cache *weights_cache_create(void) { return calloc(1, sizeof(weights_cache)); }

void weights_cache_free(weights_cache *c) { free(c); }

void weights_cache_counts(const weights_cache *c, long *hashed, long *reused) {
  *hashed = c ? c->hashed : 0;
  *reused = c ? c->reused : 0;
}

static long long mtime_ns_of(const struct stat *st) {
  return (long long)st->st_mtim.tv_sec * 1000000000LL + (long long)st->st_mtim.tv_nsec;
}

static int hash_file(const char *path, char hex[SHA256_HEX_CHARS], char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf = malloc(WEIGHTS_READ_CHUNK);
  if (!f || !buf) {
    snprintf(err, errlen, "weights file %.300s: cannot %s: %s", path, f ? "allocate a read buffer" : "open it",
             strerror(errno));
    if (f) fclose(f);
    free(buf);
    return -1;
  }
  sha256_ctx ctx;
  sha256_init(&ctx);
  size_t n;
  while ((n = fread(buf, 1, WEIGHTS_READ_CHUNK, f)) > 0) sha256_update(&ctx, buf, n);
  int failed = ferror(f);
  fclose(f);
  free(buf);
  if (failed) {
    snprintf(err, errlen, "weights file %.300s: read error while hashing it", path);
    return -1;
  }
  uint8_t digest[SHA256_DIGEST_BYTES];
  sha256_final(&ctx, digest);
  sha256_hex(digest, hex);
  return 0;
}

/* The file's sha256, from the cache when this call already hashed the same path, size and mtime. */
static int file_sha256(weights_cache *c, const char *path, const struct stat *st, char hex[SHA256_HEX_CHARS], char *err,
                       size_t errlen) {
  long long size = (long long)st->st_size, mtime = mtime_ns_of(st);
  for (int i = 0; c && i < c->nfiles; i++) {
    const hashed_file *h = &c->files[i];
    if (h->size == size && h->mtime_ns == mtime && strcmp(h->path, path) == 0) {
      memcpy(hex, h->hex, SHA256_HEX_CHARS);
      c->reused++;
      return 0;
    }
  }
  if (hash_file(path, hex, err, errlen) != 0) return -1;
  if (!c) return 0;
  hashed_file *slot = &c->files[c->next];
  snprintf(slot->path, sizeof slot->path, "%s", path);
  slot->size = size, slot->mtime_ns = mtime;
  memcpy(slot->hex, hex, SHA256_HEX_CHARS);
  c->next = (c->next + 1) % WEIGHTS_MAX_FILES;
  if (c->nfiles < WEIGHTS_MAX_FILES) c->nfiles++;
  c->hashed++;
  return 0;
}

/* Little-endian fp32 bytes -> floats (every ABI we build is little-endian; a big-endian one swaps). */
static void decode_floats(const uint8_t *bytes, long count, float *out) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (long i = 0; i < count; i++) {
    uint32_t u = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 | (uint32_t)bytes[4 * i + 2] << 16 |
                 (uint32_t)bytes[4 * i + 3] << 24;
    memcpy(&out[i], &u, 4);
  }
#else
  memcpy(out, bytes, (size_t)count * 4);
#endif
}

static int read_floats(const pl_weights_ref *ref, long count, float *out, char *err, size_t errlen) {
  FILE *f = fopen(ref->path, "rb");
  uint8_t *bytes = malloc((size_t)count * 4 + 1);
  int rc = -1;
  if (!f || !bytes) {
    snprintf(err, errlen, "weights file %.300s: cannot %s: %s", ref->path, f ? "allocate" : "open it", strerror(errno));
  } else if (fseeko(f, (off_t)ref->offset, SEEK_SET) != 0 || fread(bytes, 4, (size_t)count, f) != (size_t)count) {
    snprintf(err, errlen, "weights file %.300s: could not read %ld floats at offset %lld", ref->path, count, ref->offset);
  } else {
    decode_floats(bytes, count, out);
    rc = 0;
  }
  if (f) fclose(f);
  free(bytes);
  return rc;
}

int weights_load(weights_cache *cache, const pl_weights_ref *ref, long count, float **out, char *err, size_t errlen) {
  *out = NULL;
  struct stat st;
  if (stat(ref->path, &st) != 0) {
    snprintf(err, errlen, "weights file %.300s: %s; push the model's weights blob to the device before the plan runs",
             ref->path, strerror(errno));
    return -1;
  }
  long long need = ref->offset + (long long)count * 4;
  if (need > (long long)st.st_size) {
    snprintf(err, errlen,
             "weights file %.300s is %lld bytes, too short: the layer needs %ld floats (%lld bytes) at offset %lld, "
             "up to byte %lld; the file was cut short or the plan's offset is wrong",
             ref->path, (long long)st.st_size, count, (long long)count * 4, ref->offset, need);
    return -1;
  }
  char hex[SHA256_HEX_CHARS];
  if (file_sha256(cache, ref->path, &st, hex, err, errlen) != 0) return -1;
  if (strcmp(hex, ref->sha256) != 0) {
    snprintf(err, errlen,
             "weights file %.300s has sha256 %s, the plan line expects %s: the file changed on the device since the "
             "plan was written; push the weights blob again",
             ref->path, hex, ref->sha256);
    return -1;
  }
  float *w = malloc(sizeof *w * (size_t)(count > 0 ? count : 1));
  if (!w) {
    snprintf(err, errlen, "out of memory for %ld weights from %.300s", count, ref->path);
    return -1;
  }
  if (read_floats(ref, count, w, err, errlen) != 0) {
    free(w);
    return -1;
  }
  for (long i = 0; i < count; i++)
    if (!isfinite(w[i])) {
      snprintf(err, errlen,
               "weights file %.300s: weight %ld of the layer (byte %lld) is %g, not a finite number: the blob is corrupt "
               "or not little-endian fp32",
               ref->path, i, ref->offset + (long long)i * 4, (double)w[i]);
      free(w);
      return -1;
    }
  *out = w;
  return 0;
}
