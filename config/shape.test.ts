import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  convShape,
  denseFlops,
  denseMacs,
  dwconvShape,
  fcShape,
  gemmCols,
  gemmRows,
  outputSide,
  shapeKey,
  weightCount,
} from './shape.ts';

test('outputSide follows PyTorch: floor((h + 2p - k) / s) + 1', () => {
  assert.equal(outputSide(224, 7, 2, 3), 112);
  assert.equal(outputSide(56, 3, 2, 1), 28);
  assert.equal(outputSide(32, 1, 2, 0), 16);
  assert.equal(outputSide(7, 3, 2, 1), 4);
});

test('GEMM view: conv cout x cin*k*k, FC out x in, depthwise cout x k*k', () => {
  const conv = convShape(64, 128, 32, 3, 2, 1);
  assert.deepEqual([gemmRows(conv), gemmCols(conv), weightCount(conv)], [128, 576, 73728]);
  const fc = fcShape(512, 10);
  assert.deepEqual([gemmRows(fc), gemmCols(fc), weightCount(fc)], [10, 512, 5120]);
  const dw = dwconvShape(96, 112, 3, 2, 1);
  assert.deepEqual([gemmRows(dw), gemmCols(dw), weightCount(dw)], [96, 9, 864]);
});

test('MACs and FLOPs of one inference', () => {
  // 128 filters x 576 weights x 16x16 outputs
  assert.equal(denseMacs(convShape(64, 128, 32, 3, 2, 1)), 128 * 576 * 256);
  assert.equal(denseMacs(fcShape(512, 10)), 5120);
  assert.equal(denseMacs(dwconvShape(96, 112, 3, 2, 1)), 96 * 9 * 56 * 56);
  assert.equal(denseFlops(fcShape(512, 10)), 10240);
});

test('shapeKey names op, channels, kernel, stride, pad and input size', () => {
  assert.equal(shapeKey(convShape(3, 64, 32, 3, 1, 1)), 'conv 3->64 k3 s1 p1 @32x32');
  assert.equal(shapeKey(dwconvShape(32, 112, 3, 1, 1)), 'dwconv 32->32 k3 s1 p1 @112x112');
  assert.equal(shapeKey(fcShape(2048, 1000)), 'fc 2048->1000');
});
