import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as LIMITS from '../../../shared/limits.ts';
import { UpdateBuffer } from '../../../worker/updateBuffer.ts';

describe('UpdateBuffer', () => {
  it('merges adjacent chunks of the same stream and keeps the order across streams', () => {
    // Prepare
    const buffer = new UpdateBuffer();

    // Act
    for (const update of [
      { stdout: 'a' },
      { stdout: 'b' },
      { stderr: 'c' },
      { stdout: 'd' },
      { log: ['x', '1'] as [string, string] },
      { log: ['x', '2'] as [string, string] },
      { log: ['y', '3'] as [string, string] },
      { rc: 0 },
      { elapsed: 1 },
    ])
      buffer.append(update);

    // Assess
    assert.deepEqual(buffer.drain(), [
      { stdout: 'ab' },
      { stderr: 'c' },
      { stdout: 'd' },
      { log: ['x', '12'] },
      { log: ['y', '3'] },
      { rc: 0 },
      { elapsed: 1 },
    ]);
    assert.equal(buffer.length, 0);
    assert.equal(buffer.bytes, 0);
  });

  it('counts UTF-8 bytes of the waiting text', () => {
    const buffer = new UpdateBuffer();
    buffer.append({ stdout: 'é€' });
    assert.equal(buffer.bytes, 5);
  });

  it('cuts a chunk over the limit without splitting a surrogate pair', () => {
    // Prepare: an emoji straddles the cut
    const text = `${'a'.repeat(LIMITS.updateChars - 1)}😀${'b'.repeat(10)}`;
    const buffer = new UpdateBuffer();

    // Act
    buffer.append({ stdout: text });
    const parts = buffer.drain().map((u) => u.stdout ?? '');

    // Assess
    assert.equal(parts.join(''), text);
    assert.ok(parts.every((part) => part.length <= LIMITS.updateChars));
    assert.ok(parts[1]!.startsWith('😀'));
  });

  it('does not merge past the chunk limit', () => {
    const buffer = new UpdateBuffer();
    buffer.append({ stdout: 'a'.repeat(LIMITS.updateChars) });
    buffer.append({ stdout: 'b' });
    assert.equal(buffer.drain().length, 2);
  });

  it('drops empty text', () => {
    const buffer = new UpdateBuffer();
    buffer.append({ stdout: '' });
    assert.equal(buffer.length, 0);
  });
});
