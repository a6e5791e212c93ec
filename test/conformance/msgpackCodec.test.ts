// The agent's msgpack subset against Python's msgpack (the stock worker's codec): same bytes both ways.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { decode, encode } from '../../worker/engines/msgpackCodec.ts';
import type { MsgpackValue } from '../../worker/engines/msgpackCodec.ts';

/** Python's msgpack.packb of MESSAGE, as the stock worker sends it; undefined where python3-msgpack is missing. */
function pythonPacked(): Buffer | undefined {
  try {
    const hex = execFileSync('/usr/bin/python3', ['-c', PYTHON], { encoding: 'utf8' });
    return Buffer.from(hex.trim(), 'hex');
  } catch {
    return undefined;
  }
}

const PYTHON = `
import msgpack, sys
m = {'op': 'update', 'args': [['stdout', ['hi\\n', [2], [1795653210.5645177]]], ['rc', -1], ['big', 2**40],
     ['neg', -200000], ['bin', b'\\x00\\x01' * 40000], ['s', '\\u00e9' * 40], ['none', None], ['t', True],
     ['f', False], ['l', list(range(20))]], 'command_id': '7', 'seq_number': 70000}
sys.stdout.write(msgpack.packb(m).hex())`;

const MESSAGE: MsgpackValue = {
  op: 'update',
  args: [
    ['stdout', ['hi\n', [2], [1795653210.5645177]]],
    ['rc', -1],
    ['big', 2 ** 40],
    ['neg', -200000],
    ['bin', Buffer.from('\x00\x01'.repeat(40000), 'latin1')],
    ['s', 'é'.repeat(40)],
    ['none', null],
    ['t', true],
    ['f', false],
    ['l', Array.from({ length: 20 }, (_, i) => i)],
  ],
  command_id: '7',
  seq_number: 70000,
};

describe('msgpack codec of the buildbot-worker engine', () => {
  it(
    'decodes what Python packs and packs the same bytes',
    { skip: !pythonPacked() && 'no python3-msgpack' },
    () => {
      // Prepare
      const packed = pythonPacked()!;

      // Act
      const decoded = decode(packed);
      const encoded = encode(MESSAGE);

      // Assess
      assert.equal(encoded.toString('hex'), packed.toString('hex'));
      assert.equal(encode(decoded).toString('hex'), packed.toString('hex'));
      const { args, seq_number: seq } = decoded as { args: [string, MsgpackValue][]; seq_number: number };
      assert.equal(seq, 70000);
      assert.deepEqual(args[0], ['stdout', ['hi\n', [2], [1795653210.5645177]]]);
      assert.ok(Buffer.isBuffer(args[4]![1]) && (args[4]![1] as Buffer).length === 80000);
      assert.equal(args[5]![1], 'é'.repeat(40));
    },
  );

  it('refuses a truncated frame and trailing bytes', () => {
    // Prepare
    const frame = encode({ op: 'print', message: 'attached', seq_number: 0 });

    // Act / Assess
    assert.throws(() => decode(frame.subarray(0, frame.length - 1)), /truncated/);
    assert.throws(() => decode(Buffer.concat([frame, Buffer.from([0])])), /bytes after/);
  });
});
