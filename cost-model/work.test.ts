import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convShape, dwconvShape, fcShape } from '../config/shape.ts';
import { computeFeatures, l1MissShare, missShare } from './features.ts';
import { convView, denseEngine, kernelWork, misalignedShare, mvecPixels, subHeights } from './work.ts';

// A 64-float tile is 4 vectors of 16 floats (AVX-512), as in the host build.
const TILE = 64;

test('the view follows view.c: direct 1x1, padded planes otherwise', () => {
  assert.deepEqual(convView(convShape(64, 128, 14, 1, 1, 0)), {
    direct: true,
    ho: 14,
    wo: 14,
    hq: 14,
    wq: 14,
    np: 1,
    n: 196,
    channelFloats: 196,
  });
  // 3x3 stride 1 pad 1 on 14x14: planes of 16 x 16, rows of 16 floats of which 14 are outputs.
  const padded = convView(convShape(8, 8, 14, 3, 1, 1));
  assert.equal(padded.wq, 16);
  assert.equal(padded.n, 14 * 16);
  assert.equal(padded.channelFloats, 256);
  // Stride 2 on a 3x3 kernel reads 2 x 2 phase planes of 8 x 8 (wo 7 + (3 - 1) / 2).
  const strided = convView(convShape(8, 8, 14, 3, 2, 1));
  assert.equal(strided.np, 2);
  assert.equal(strided.channelFloats, 4 * 8 * 8);
});

test('misaligned columns are counted exactly from the view offsets', () => {
  // 1x1 on 28x28: channel stride 784 = 49 x 16 floats, every column starts on a vector boundary.
  assert.equal(misalignedShare(convShape(16, 16, 28, 1, 1, 0), 16), 0);
  // 1x1 on 7x7: channel stride 49 floats, only channel 0 of every 16 is aligned.
  assert.equal(misalignedShare(convShape(32, 16, 7, 1, 1, 0), 16), 30 / 32);
  // 3x3 s1 p1 on 14x14: 256-float planes and 16-float rows, so only the kx = 0 taps are aligned.
  assert.equal(misalignedShare(convShape(8, 8, 14, 3, 1, 1), 16), 6 / 9);
  assert.equal(misalignedShare(fcShape(512, 10), 16), 0);
});

test('unstructured runs 1-row groups: one pass per kept weight per tile, one call per row and tile', () => {
  // 1x1 on 7x7: 49 outputs fit one 64-float tile; 4 vectors per call, 64 lanes per pass.
  const shape = convShape(160, 96, 7, 1, 1, 0);
  const kept = 160 * 96 * 0.25;
  const work = kernelWork(shape, 'unstructured', null, 0.25, TILE);
  assert.ok(work !== undefined);
  assert.equal(work.tiles, 1);
  assert.equal(work.columnPasses, kept);
  assert.equal(work.calls, 96);
  assert.equal(work.vectorLoads, 4 * kept);
  assert.equal(work.fmaLanes, TILE * kept);
  assert.equal(work.storedFloats, 96 * TILE);
  assert.equal(work.weightBytesPerTile, 8 * kept);
  assert.equal(work.compactFloats, 0);
});

test('every output row ending inside a vector stores that vector through a partial copy, once per run', () => {
  // 1x1 on 7x7: 49 floats = 3 vectors + 1 float, so each of the 96 rows ends with one partial store.
  assert.equal(kernelWork(convShape(160, 96, 7, 1, 1, 0), 'bcr', '4x1', 0.1, TILE)?.partialStores, 96);
  // 1x1 on 14x14: 196 floats, the last tile holds 4 (part of one vector): still one per row.
  assert.equal(
    kernelWork(convShape(64, 128, 14, 1, 1, 0), 'unstructured', null, 0.5, TILE)?.partialStores,
    128,
  );
  // 1x1 on 28x28 (784 = 49 vectors) and 3x3 on 8x8 (8 x 10 = 80 = 5 vectors): whole vectors only.
  assert.equal(
    kernelWork(convShape(64, 128, 28, 1, 1, 0), 'unstructured', null, 0.5, TILE)?.partialStores,
    0,
  );
  assert.equal(kernelWork(convShape(64, 128, 8, 3, 1, 1), 'unstructured', null, 0.5, TILE)?.partialStores, 0);
  // 3x3 on 7x7: rows of 7 x 9 = 63 floats. With a 16-float tile (NEON) 63 = 15 vectors + 3: still partial.
  assert.equal(kernelWork(convShape(64, 128, 7, 3, 1, 1), 'bcr', '4x1', 0.5, 16)?.partialStores, 128);
  // mvec's tiles are whole micro-tiles, the pattern kernel copies every (row, tile) out of its scratch.
  assert.equal(kernelWork(convShape(512, 512, 2, 3, 1, 1), 'dense', null, 1, TILE)?.partialStores, 0);
  assert.equal(kernelWork(convShape(64, 128, 7, 3, 1, 1), 'pattern', null, 0.5, TILE)?.partialStores, 0);
});

test('8-row groups run two half-tile calls, and skip the second one on a short last tile', () => {
  assert.deepEqual(subHeights(8), [8]);
  assert.deepEqual(subHeights(16), [8, 8]);
  assert.deepEqual(subHeights(7), [4, 2, 1]);
  // bcr 8x1: kept / 8 group columns. 1x1 stride 2 on 8x8 gives a 4x4 output: 16 floats, one vector.
  const small = kernelWork(convShape(64, 64, 8, 1, 2, 0), 'bcr', '8x1', 0.5, TILE);
  assert.equal(small?.calls, 8);
  assert.equal(small?.columnPasses, (64 * 64 * 0.5) / 8);
  // On a 7x7 map the 49 outputs need 4 vectors: two calls of 2.
  const wide = kernelWork(convShape(64, 64, 7, 1, 1, 0), 'bcr', '8x1', 0.5, TILE);
  assert.equal(wide?.calls, 16);
  assert.equal(wide?.fmaLanes, 64 * 64 * 0.5 * TILE);
});

test('the dense conv on a long row is counted as the direct 8-row kernel over every column', () => {
  const work = kernelWork(convShape(16, 24, 14, 3, 1, 1), 'dense', null, 1, TILE);
  // rows 24 = 3 groups of 8, 144 columns each; 224 virtual floats = 4 tiles, the last with 32 valid.
  assert.equal(work?.tiles, 4);
  assert.equal(work?.calls, 3 * (2 * 3 + 1));
  assert.equal(work?.columnPasses, 3 * 144 * 7);
  assert.equal(work?.compactFloats, 24 * 14 * 14);
  // A depthwise conv runs 1-row groups of k x k columns.
  const dw = kernelWork(dwconvShape(32, 14, 3, 1, 1), 'dense', null, 1, TILE);
  assert.equal(dw?.columnPasses, 32 * 9 * 4);
  assert.equal(kernelWork(fcShape(512, 10), 'dense', null, 1, TILE), undefined);
});

test('the dense conv on a short row is counted as mvec, the engine the agent picks there', () => {
  // mvec's pixel width pads n least, ties to the wider: 49 = 7 x 7, 196 = 28 x 7, 8 and 24 by 8s.
  assert.equal(mvecPixels(49), 7);
  assert.equal(mvecPixels(196), 7);
  assert.equal(mvecPixels(8), 8);
  assert.equal(mvecPixels(24), 8);
  assert.equal(mvecPixels(63), 7);
  // 3x3 pad 1 on 2x2: 8 virtual floats, where an 8-row rgs call computes 32 lanes.
  assert.equal(denseEngine(convShape(512, 512, 2, 3, 1, 1), TILE), 'mvec');
  // 1x1 on 7x7: 49 floats, mvec pads to 49 and rgs to 64.
  assert.equal(denseEngine(convShape(512, 512, 7, 1, 1, 0), TILE), 'mvec');
  // 3x3 pad 1 on 7x7: 63 floats against rgs's 64, too small a saving; 1x1 on 14x14: a row of over two tiles.
  assert.equal(denseEngine(convShape(512, 512, 7, 3, 1, 1), TILE), 'rgs');
  assert.equal(denseEngine(convShape(64, 64, 14, 1, 1, 0), TILE), 'rgs');
  assert.equal(denseEngine(dwconvShape(64, 2, 3, 1, 1), TILE), 'rgs');
  // 64 -> 64, 3x3 on 2x2: rows 64 = 2 panels of 32, depth 576, n 8 = one panel of 8 pixels.
  const shape = convShape(64, 64, 2, 3, 1, 1);
  const work = kernelWork(shape, 'dense', null, 1, TILE);
  assert.equal(work?.engine, 'mvec');
  assert.equal(work?.calls, 2);
  assert.equal(work?.columnPasses, 2 * 576);
  assert.equal(work?.vectorLoads, 2 * 2 * 576);
  assert.equal(work?.fmaLanes, 64 * 576 * 8);
  // Its loads are packed panels, never misaligned; an unstructured layer of the same shape runs rgs.
  assert.equal(computeFeatures(shape, 'dense', null, 1, TILE).misalignedLoads, 0);
  assert.equal(kernelWork(shape, 'unstructured', null, 0.5, TILE)?.engine, 'rgs');
  assert.ok(computeFeatures(shape, 'unstructured', null, 0.5, TILE).misalignedLoads > 0);
});

test('the pattern kernel counts kept kernels per tile and the (channel, pattern) groups present', () => {
  // 64 filters, 16 channels, every kernel kept (density 4/9): the chunk of 64 rows holds every pattern on
  // every channel but for a chance of (7/8)^64 each. 8 x 10 virtual floats: 2 tiles.
  const work = kernelWork(convShape(16, 64, 8, 3, 1, 1), 'pattern', null, 4 / 9, TILE);
  assert.equal(work?.tiles, 2);
  assert.equal(work?.columnPasses, 64 * 16 * 2);
  assert.ok(work !== undefined && Math.abs(work.calls / (16 * 8 * 2) - 1) < 1e-3);
});

test('miss features count only what does not fit the cache', () => {
  assert.equal(missShare(16 * 1024, 32 * 1024), 0);
  assert.equal(missShare(128 * 1024, 32 * 1024), 0.75);
  // L1: 1 - sqrt(cache / set), steeper past the cache than missShare (4x the cache: half, not three quarters).
  assert.equal(l1MissShare(16 * 1024, 32 * 1024), 0);
  assert.equal(l1MissShare(128 * 1024, 32 * 1024), 0.5);
  // 576 channels x (64 + 0) floats = 147 KB of input slices per tile: beyond a 32 KB L1, within 1 MB.
  const shape = convShape(576, 96, 14, 1, 1, 0);
  const small = computeFeatures(shape, 'unstructured', null, 0.5, TILE, { l1Bytes: 32768, l2Bytes: 1 << 20 });
  assert.ok(small.stridedL1Misses > 0);
  assert.equal(small.weightL2MissBytes, 0);
  const large = computeFeatures(shape, 'unstructured', null, 0.5, TILE, {
    l1Bytes: 1 << 20,
    l2Bytes: 1 << 20,
  });
  assert.equal(large.stridedL1Misses, 0);
});

test('L2 misses count what one run touches together: input, output and a tile of weights', () => {
  const cache = { l1Bytes: 32768, l2Bytes: 1 << 20 };
  // 16 -> 16 1x1 on 112x112, read in place: 16 x 12544 floats in and out, 802816 bytes each, and one tile of
  // weights: 128 kept values and 128 indices at density 0.5, 4 bytes each. Either activation alone fits
  // 1 MiB; together (1606656 bytes) a third of them does not.
  const shape = convShape(16, 16, 112, 1, 1, 0);
  const work = kernelWork(shape, 'unstructured', null, 0.5, TILE);
  assert.equal(work?.inputBytes, 802816);
  assert.equal(work?.outputBytes, 802816);
  assert.equal(work?.weightBytesPerTile, 1024);
  assert.equal(work?.tiles, 196);
  const missing = 1 - (1 << 20) / 1606656;
  const features = computeFeatures(shape, 'unstructured', null, 0.5, TILE, cache);
  assert.ok(Math.abs(features.inputL2MissBytes - 802816 * missing) < 1e-6);
  assert.ok(Math.abs(features.outputL2MissBytes - 802816 * missing) < 1e-6);
  assert.ok(Math.abs(features.weightL2MissBytes - 1024 * 196 * missing) < 1e-6);
  // The legacy features, which took each part alone, saw nothing beyond L2: older LUTs still predict that way.
  assert.equal(features.inputStreamBytes, 0);
  assert.equal(features.outputStreamBytes, 0);
  assert.equal(features.weightStreamBytes, 0);
  // On 56x56 the run touches 402432 bytes: no L2 miss at all.
  const small = computeFeatures(convShape(16, 16, 56, 1, 1, 0), 'unstructured', null, 0.5, TILE, cache);
  assert.equal(small.inputL2MissBytes + small.outputL2MissBytes + small.weightL2MissBytes, 0);
});

test('a map that fits one tile streams its input: its L1 misses are counted apart from strided slices', () => {
  const cache = { l1Bytes: 32768, l2Bytes: 1 << 20 };
  // 3x3 pad 1 on 4x4: padded planes of 6 x 6 = 36 floats, inside one 64-float tile, so a tile reads every
  // channel's whole plane, one after the other: 512 x 144 bytes = 73728 bytes, 9/4 of L1.
  const streamed = convShape(512, 512, 4, 3, 1, 1);
  const work = kernelWork(streamed, 'unstructured', null, 0.5, TILE);
  assert.equal(work?.inputContiguous, true);
  assert.equal(work?.inputBytesPerTile, 73728);
  // 512 x 512 x 9 / 2 kept weights, each a pass of 4 vectors: 4718592 loads; sqrt(4/9) = 2/3 of the set fits.
  assert.equal(work?.vectorLoads, 4718592);
  const small = computeFeatures(streamed, 'unstructured', null, 0.5, TILE, cache);
  assert.equal(small.stridedL1Misses, 0);
  assert.ok(Math.abs(small.streamedL1Misses - 4718592 / 3) < 1e-6);
  // The legacy features, for older LUTs: missShare (5/9 beyond L1), both kinds in l1MissLoads.
  assert.ok(Math.abs(small.l1StreamLoads - (4718592 * 5) / 9) < 1e-6);
  assert.equal(small.stridedL1MissLoads, 0);
  assert.equal(small.l1MissLoads, small.l1StreamLoads);
  // 1x1 on 14x14: planes of 196 floats, so a tile reads a 64-float slice of each: strided.
  const strided = convShape(576, 96, 14, 1, 1, 0);
  assert.equal(kernelWork(strided, 'unstructured', null, 0.5, TILE)?.inputContiguous, false);
  const large = computeFeatures(strided, 'unstructured', null, 0.5, TILE, cache);
  assert.equal(large.streamedL1Misses, 0);
  assert.ok(large.stridedL1Misses > 0);
  assert.equal(large.l1StreamLoads, 0);
  assert.equal(large.l1MissLoads, large.stridedL1MissLoads);
});

test('first-tap lanes: every lane of a 1x1 conv, one in k² of a KxK conv (columns are channel-major)', () => {
  const oneByOne = computeFeatures(convShape(64, 64, 14, 1, 1, 0), 'unstructured', null, 0.5, TILE);
  assert.equal(oneByOne.firstTapLanes, oneByOne.fmaLanes);
  const threeByThree = computeFeatures(convShape(64, 64, 14, 3, 1, 1), 'bcr', '4x1', 0.5, TILE);
  assert.equal(threeByThree.firstTapLanes, threeByThree.fmaLanes / 9);
  assert.equal(computeFeatures(fcShape(512, 10), 'dense', null, 1, TILE).firstTapLanes, 0);
});
