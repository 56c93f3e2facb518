import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeGaps } from './gaps.ts';

const gap = {
  lost_at: '2026-01-01T02:10:00.000Z',
  back_at: '2026-01-01T02:10:12.500Z',
  flaps: 0,
  fingerprint_before: 'v/p:13/A/1:user/release-keys',
  fingerprint_after: 'v/p:13/A/1:user/release-keys',
};

test('a phone back with the same build is a note; with another build, trouble; never back, neither', () => {
  assert.deepEqual(judgeGaps([gap]), {
    notes: ['lost at 2026-01-01T02:10:00.000Z, back after 12.5 s; prepared again'],
    troubles: [],
  });
  const updated = judgeGaps([{ ...gap, flaps: 2, fingerprint_after: 'v/p:14/B/2:user/release-keys' }]);
  assert.match(updated.notes[0] ?? '', /lost 2 more time\(s\) while being prepared/);
  assert.match(
    updated.troubles[0] ?? '',
    /v\/p:13\/A\/1:user\/release-keys -> v\/p:14\/B\/2:user\/release-keys/,
  );
  assert.deepEqual(judgeGaps([{ ...gap, back_at: null, fingerprint_after: null }]), {
    notes: [],
    troubles: [],
  });
});
