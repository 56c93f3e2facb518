import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RULE_TOLERANCE, ruleDecision } from './rule.ts';
import { layer, option } from './test-support.ts';

const settings = { sparsity: 0.75, tolerance: DEFAULT_RULE_TOLERANCE };

test('3x3 conv: pattern wins when within tolerance of the fastest, even if not the fastest', () => {
  const l = layer('c3', 'conv3x3', [
    option('dense', null, 0, 1000, 1),
    option('unstructured', null, 0.75, 600, 0.6),
    option('pattern', null, 0.75, 420, 0.5),
    option('bcr', '4x1', 0.75, 400, 0.45),
  ]);
  const decision = ruleDecision(l, settings);
  assert.equal(decision.index, 2);
  assert.match(decision.rule, /pattern/);
});

test('3x3 conv: pattern outside tolerance loses to the least regular option inside it', () => {
  const l = layer('c3', 'conv3x3', [
    option('dense', null, 0, 1000, 1),
    option('pattern', null, 0.75, 500, 0.5),
    option('bcr', '8x4', 0.75, 430, 0.4),
    option('bcr', '4x1', 0.75, 420, 0.45),
    option('block-punched', '4x1', 0.75, 400, 0.42),
  ]);
  // Fastest 400; within 10%: bcr 8x4 (430), bcr 4x1 (420), block-punched (400). bcr is less regular than
  // block-punched; among bcr the smaller block (4x1) wins.
  assert.equal(ruleDecision(l, settings).index, 3);
});

test('1x1 conv and FC: the least regular scheme within tolerance; other sparsities are ignored', () => {
  const l = layer('fc', 'fc', [
    option('dense', null, 0, 1000, 1),
    option('unstructured', null, 0.75, 1200, 0.7),
    option('unstructured', null, 0.9, 300, 0.5),
    option('bcr', '8x1', 0.75, 500, 0.5),
    option('filter', null, 0.75, 480, 0.3),
  ]);
  // At 0.75: unstructured (1200) is far outside; bcr 8x1 (500) is within 10% of filter (480) and less regular.
  assert.equal(ruleDecision(l, settings).index, 3);
});

test('a layer stays dense when no option at its sparsity is faster than dense, or none exists', () => {
  const slow = layer('fc', 'fc', [
    option('dense', null, 0, 100, 1),
    option('unstructured', null, 0.75, 150, 0.7),
  ]);
  assert.equal(ruleDecision(slow, settings).index, 0);
  assert.match(ruleDecision(slow, settings).rule, /not faster than dense|no scheme/);
  const none = layer('dw', 'other', [option('dense', null, 0, 100, 1)]);
  assert.equal(ruleDecision(none, settings).index, 0);
});
