/* sha256.c: see sha256.h (after Brad Conte's public-domain crypto-algorithms sha256.c). */
#include "sha256.h"

#include <stdio.h>

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define CH(x, y, z) (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define EP0(x) (ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define EP1(x) (ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SIG0(x) (ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SIG1(x) (ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static void transform(sha256_ctx *ctx, const uint8_t *data) {
  uint32_t m[64];
  for (int i = 0; i < 16; i++)
    m[i] = ((uint32_t)data[4 * i] << 24) | ((uint32_t)data[4 * i + 1] << 16) | ((uint32_t)data[4 * i + 2] << 8) |
           (uint32_t)data[4 * i + 3];
  for (int i = 16; i < 64; i++) m[i] = SIG1(m[i - 2]) + m[i - 7] + SIG0(m[i - 15]) + m[i - 16];
  uint32_t a = ctx->state[0], b = ctx->state[1], c = ctx->state[2], d = ctx->state[3];
  uint32_t e = ctx->state[4], f = ctx->state[5], g = ctx->state[6], h = ctx->state[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + EP1(e) + CH(e, f, g) + K[i] + m[i], t2 = EP0(a) + MAJ(a, b, c);
    h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
  }
  ctx->state[0] += a, ctx->state[1] += b, ctx->state[2] += c, ctx->state[3] += d;
  ctx->state[4] += e, ctx->state[5] += f, ctx->state[6] += g, ctx->state[7] += h;
}

void sha256_init(sha256_ctx *ctx) {
  static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  ctx->fill = 0;
  ctx->bits = 0;
  for (int i = 0; i < 8; i++) ctx->state[i] = init[i];
}

void sha256_update(sha256_ctx *ctx, const uint8_t *data, size_t len) {
  size_t i = 0;
  /* Whole blocks straight from the data when nothing is buffered: a weights file is tens of MB. */
  for (; ctx->fill == 0 && len - i >= 64; i += 64) {
    transform(ctx, data + i);
    ctx->bits += 512;
  }
  for (; i < len; i++) {
    ctx->block[ctx->fill++] = data[i];
    if (ctx->fill == 64) {
      transform(ctx, ctx->block);
      ctx->bits += 512;
      ctx->fill = 0;
    }
  }
}

void sha256_final(sha256_ctx *ctx, uint8_t digest[SHA256_DIGEST_BYTES]) {
  uint64_t bits = ctx->bits + (uint64_t)ctx->fill * 8;
  uint32_t i = ctx->fill;
  ctx->block[i++] = 0x80;
  if (i > 56) {
    while (i < 64) ctx->block[i++] = 0;
    transform(ctx, ctx->block);
    i = 0;
  }
  while (i < 56) ctx->block[i++] = 0;
  for (int b = 0; b < 8; b++) ctx->block[63 - b] = (uint8_t)(bits >> (8 * b));
  transform(ctx, ctx->block);
  for (int w = 0; w < 8; w++)
    for (int b = 0; b < 4; b++) digest[4 * w + b] = (uint8_t)(ctx->state[w] >> (24 - 8 * b));
}

void sha256_hex(const uint8_t digest[SHA256_DIGEST_BYTES], char hex[SHA256_HEX_CHARS]) {
  for (int i = 0; i < SHA256_DIGEST_BYTES; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}
