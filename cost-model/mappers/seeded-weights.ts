/**
 * The agent's seeded weights, bit for bit: splitmix64 (device-agent/src/rng.c) and the Irwin-Hall(4) fill of
 * `fill_random` (device-agent/src/layer.c), so the proxy of a built-in model is computed on the very weights
 * the agent masked and timed. 64-bit arithmetic on two 32-bit halves: BigInt was about 20x slower, and
 * ResNet-50 needs 100 million draws.
 * https://prng.di.unimi.it/splitmix64.c
 */

const TWO_32 = 4294967296;

/** Result of mul64 (module-level scratch: a returned tuple per call made the fill 3x slower). */
let mulHi = 0;
let mulLo = 0;

/** (ahi:alo) * (bhi:blo) mod 2^64 into mulHi:mulLo: the high half of alo x blo from 16-bit limbs, all integer ops. */
function mul64(ahi: number, alo: number, bhi: number, blo: number): void {
  const a0 = alo & 0xffff;
  const a1 = alo >>> 16;
  const b0 = blo & 0xffff;
  const b1 = blo >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const high = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  mulLo = Math.imul(alo, blo) >>> 0;
  mulHi = (high + Math.imul(ahi, blo) + Math.imul(alo, bhi)) >>> 0;
}

/** splitmix64 with the agent's constants; `next24` gives the top 24 bits of each output (what rng_uniform_pm1 uses). */
export class SplitMix64 {
  private hi: number;
  private lo: number;

  constructor(seed: number) {
    if (!(Number.isInteger(seed) && seed >= 0 && seed <= 2 ** 53)) {
      throw new RangeError(`seed must be an integer in [0, 2^53], got ${seed}`);
    }
    this.hi = Math.floor(seed / TWO_32) >>> 0;
    this.lo = seed >>> 0;
  }

  /** The full 64-bit output as a BigInt (tests compare it with a BigInt reference). */
  nextBigInt(): bigint {
    this.step();
    return (BigInt(this.outHi) << 32n) | BigInt(this.outLo);
  }

  /** rng_uniform_pm1: (top 24 bits - 2^23) / 2^23, exact in fp32. */
  uniformPm1(): number {
    this.step();
    return ((this.outHi >>> 8) - 8388608) / 8388608;
  }

  private outHi = 0;
  private outLo = 0;

  private step(): void {
    // state += 0x9e3779b97f4a7c15
    const sumLo = this.lo + 0x7f4a7c15;
    this.lo = sumLo >>> 0;
    this.hi = (this.hi + 0x9e3779b9 + (sumLo >= TWO_32 ? 1 : 0)) >>> 0;
    let hi = this.hi;
    let lo = this.lo;
    // z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
    lo = (lo ^ ((lo >>> 30) | (hi << 2))) >>> 0;
    hi = (hi ^ (hi >>> 30)) >>> 0;
    mul64(hi, lo, 0xbf58476d, 0x1ce4e5b9);
    hi = mulHi;
    lo = mulLo;
    // z = (z ^ (z >> 27)) * 0x94d049bb133111eb
    lo = (lo ^ ((lo >>> 27) | (hi << 5))) >>> 0;
    hi = (hi ^ (hi >>> 27)) >>> 0;
    mul64(hi, lo, 0x94d049bb, 0x133111eb);
    hi = mulHi;
    lo = mulLo;
    // z ^ (z >> 31)
    this.outLo = (lo ^ ((lo >>> 31) | (hi << 1))) >>> 0;
    this.outHi = (hi ^ (hi >>> 31)) >>> 0;
  }
}

/**
 * The weights the agent builds for a layer of `count` GEMM weights from `seed`: each is 0.5 x the sum of four
 * uniforms in [-1, 1) (Irwin-Hall, bell-shaped like trained weights), rounded to fp32 as the C cast does.
 */
export function seededWeights(count: number, seed: number): Float32Array {
  const rng = new SplitMix64(seed);
  const weights = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const sum = rng.uniformPm1() + rng.uniformPm1() + rng.uniformPm1() + rng.uniformPm1();
    weights[i] = 0.5 * sum;
  }
  return weights;
}
