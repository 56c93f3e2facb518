import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closestChoice, editDistance } from './suggest.ts';
import { SCHEMES } from './vocabulary.ts';

test('editDistance counts single-character edits', () => {
  assert.equal(editDistance('bcrr', 'bcr'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('Dense', 'dense'), 0);
});

test('closestChoice suggests typos and unique prefixes, nothing for unrelated words', () => {
  assert.equal(closestChoice('bcrr', SCHEMES), 'bcr');
  assert.equal(closestChoice('unstructered', SCHEMES), 'unstructured');
  assert.equal(closestChoice('sparsity', ['models', 'sparsities', 'threads']), 'sparsities');
  assert.equal(closestChoice('resnet18', ['resnet18-cifar10', 'resnet50-imagenet']), 'resnet18-cifar10');
  assert.equal(closestChoice('winograd', SCHEMES), undefined);
});
