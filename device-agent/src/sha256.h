/*
 * sha256: SHA-256 (FIPS 180-4) of a byte stream, for checking a weights file against the hash its plan line
 * names. Written after Brad Conte's public-domain crypto-algorithms (github.com/B-Con/crypto-algorithms,
 * sha256.c): the same streaming structure (a 64-byte block buffer, bit length, padding in final), in this
 * agent's naming. No library: nothing links statically on every ABI we build. Known-answer vectors are in
 * selftest.c and the weights test compares it with Node's crypto on real files.
 */
#ifndef PL_SHA256_H
#define PL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_BYTES 32
/* 64 lowercase hex digits and the terminating NUL. */
#define SHA256_HEX_CHARS 65

typedef struct {
  uint8_t block[64];
  uint32_t fill; /* bytes in block */
  uint64_t bits; /* message length so far */
  uint32_t state[8];
} sha256_ctx;

void sha256_init(sha256_ctx *ctx);
void sha256_update(sha256_ctx *ctx, const uint8_t *data, size_t len);
void sha256_final(sha256_ctx *ctx, uint8_t digest[SHA256_DIGEST_BYTES]);
/* digest -> 64 lowercase hex digits, NUL-terminated. */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_BYTES], char hex[SHA256_HEX_CHARS]);

#endif
