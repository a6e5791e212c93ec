import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../shared/errors.ts';
import {
  TEXT_BATCH_MIN_BYTES,
  decodeTextBatch,
  encodeTextBatch,
  isTextBatch,
} from '../../shared/commands/textBatch.ts';
import type { SequencedUpdate } from '../../shared/commands/apiTypes.ts';
import { logText } from '../../shared/commands/logText.ts';
import {
  TEXT_RUN_MIN_BYTES,
  decodeRun,
  isFragmentBatch,
  planRuns,
  runFragment,
  storedSize,
  textRunParts,
} from '../../shared/commands/runs.ts';
import * as LIMITS from '../../shared/limits.ts';

/** Pure logic of text runs (stdio text stored as text) and text batches (the worker's output without JSON). */

const KIB = 1024;
const chunk = (char: string, bytes: number) => char.repeat(bytes);

function stored(run: ReturnType<typeof planRuns>[number]) {
  return { first: run.first, last: run.last, ...run.encoded };
}

describe('text runs', () => {
  it('stores a long stretch of output as its text and the rest of the batch as a fragment', () => {
    // Prepare: headers, 3 × 40 KiB of stdout and stderr, then rc and elapsed
    const updates: SequencedUpdate[] = [
      [{ header: 'sh -c make\n' }, 0],
      [{ stdout: chunk('o', 40 * KIB) }, 1],
      [{ stderr: chunk('é', 20 * KIB) }, 2],
      [{ stdout: chunk('o', 40 * KIB) }, 3],
      [{ rc: 0 }, 4],
      [{ elapsed: 1.5 }, 5],
    ];
    // Act
    const runs = planRuns(updates);
    // Assess
    assert.deepEqual(
      runs.map((run) => [run.first, run.last, run.encoded.textBr !== undefined]),
      [
        [0, 3, true],
        [4, 5, false],
      ],
    );
    assert.deepEqual([...decodeRun(stored(runs[0]!)), ...decodeRun(stored(runs[1]!))], updates);
    assert.equal(
      runs[0]!.encoded.bytes,
      Buffer.byteLength(
        updates
          .slice(0, 4)
          .map(([u]) => Object.values(u)[0])
          .join(''),
      ),
    );
  });

  it('keeps output shorter than TEXT_RUN_MIN_BYTES in the fragment, one item for a short command', () => {
    // Prepare
    const updates: SequencedUpdate[] = [
      [{ header: 'true\n' }, 0],
      [{ stdout: chunk('x', TEXT_RUN_MIN_BYTES - 100) }, 1],
      [{ rc: 0 }, 2],
    ];
    // Act
    const runs = planRuns(updates);
    // Assess
    assert.equal(runs.length, 1);
    assert.ok(runs[0]!.encoded.textBr === undefined);
    assert.ok(isFragmentBatch(updates));
    assert.ok(!isFragmentBatch([[{ stdout: chunk('x', TEXT_RUN_MIN_BYTES) }, 0]]));
  });

  it('does not take an update with another key, a log or two streams into a text run', () => {
    // Prepare
    const big = chunk('y', TEXT_RUN_MIN_BYTES);
    const updates: SequencedUpdate[] = [
      [{ stdout: big, stderr: 'both' }, 0],
      [{ log: ['junit', big] }, 1],
    ];
    // Act
    const runs = planRuns(updates);
    // Assess
    assert.ok(runs.every((run) => run.encoded.textBr === undefined));
    assert.deepEqual(
      runs.flatMap((run) => decodeRun(stored(run))),
      updates,
    );
  });

  it('serves the same JSON fragment and log text from a text run as from the updates themselves', () => {
    // Prepare: text that JSON must escape
    const updates: SequencedUpdate[] = [
      [{ stdout: `"quoted"\t\\ ${chunk('z', 70 * KIB)}\n` }, 7],
      [{ stderr: 'warning: ☃\n' }, 8],
      [{ header: 'elapsedTime=0.1\n' }, 9],
    ];
    const [run] = planRuns(updates);
    // Act
    const fragment = runFragment(stored(run!)).toString('utf8');
    const parts = textRunParts(stored(run!))!;
    // Assess
    assert.deepEqual(JSON.parse(`[${fragment}]`), updates);
    assert.equal(Buffer.concat(parts.map((part) => part.text)).toString('utf8'), logText(updates, 'stdio'));
    assert.deepEqual(
      parts.map((part) => [part.stream, part.seq]),
      [
        ['stdout', 7],
        ['stderr', 8],
        ['header', 9],
      ],
    );
    assert.equal(logText(updates, 'stdout'), updates[0]![0].stdout);
    assert.equal(logText(updates, 'stderr'), 'warning: ☃\n');
  });

  it('cuts barely compressible output into runs that each fit one item', () => {
    // Prepare: 1.5 MB of pseudo-random base64 in 64 KiB updates
    let state = 12345;
    const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const updates: SequencedUpdate[] = [];
    for (let seq = 0; seq < 24; seq++) {
      let text = '';
      for (let i = 0; i < 64 * KIB; i++) {
        // xorshift32: deterministic and random enough that brotli keeps ~75 % of it.
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        text += letters[(state >>> 0) & 63];
      }
      updates.push([{ stdout: text }, seq]);
    }
    // Act
    const runs = planRuns(updates);
    // Assess
    assert.ok(runs.length > 1, `${runs.length} runs`);
    for (const run of runs) assert.ok(storedSize(stored(run)) <= LIMITS.itemPayloadBytes);
    assert.deepEqual(
      runs.flatMap((run) => decodeRun(stored(run))),
      updates,
    );
  });
});

describe('text batches', () => {
  const output: SequencedUpdate[] = [
    [{ header: 'make\n' }, 3],
    [{ stdout: chunk('a', 10 * KIB) }, 4],
    [{ stderr: 'ünïcode ☃\n' }, 5],
    [{ rc: 2 }, 6],
  ];

  it('carries output as bytes and turns back into the same request', () => {
    // Act
    const body = encodeTextBatch(output)!;
    // Assess
    assert.deepEqual(decodeTextBatch(body), { updates: output });
    assert.ok(isTextBatch('application/vnd.bbs.text-batch; charset=binary'));
    assert.ok(!isTextBatch('application/json'));
  });

  it('leaves short output and batches that do not start with output to JSON', () => {
    assert.equal(encodeTextBatch([[{ stdout: chunk('a', TEXT_BATCH_MIN_BYTES - 1) }, 0]]), undefined);
    assert.equal(encodeTextBatch([[{ rc: 0 }, 0], ...output]), undefined);
  });

  const header = (fields: object) => `${JSON.stringify(fields)}\n`;
  const refusals: [string, Buffer, RegExp][] = [
    ['no newline', Buffer.from('{"updates":[]}'), /no newline ends the JSON header/],
    ['a header that is not JSON', Buffer.from('{updates\nabc'), /header is not valid JSON/],
    ['a header that is not an object', Buffer.from('[1]\n'), /header must be a JSON object/],
    ['no text field', Buffer.from(header({ updates: [] })), /lacks "text"/],
    ['a negative first seq', Buffer.from(header({ text: { first: -1, parts: 'o1' } }) + 'a'), /text.first/],
    [
      'an unknown stream code',
      Buffer.from(header({ text: { first: 0, parts: 'x1' } }) + 'a'),
      /malformed part "x1"/,
    ],
    [
      'parts longer than the bytes',
      Buffer.from(header({ text: { first: 0, parts: 'o5' } }) + 'abc'),
      /add up to more than the 3 bytes/,
    ],
    [
      'bytes beyond the parts',
      Buffer.from(header({ text: { first: 0, parts: 'o1' } }) + 'abc'),
      /2 bytes follow the last part/,
    ],
    [
      'text that is not UTF-8',
      Buffer.concat([Buffer.from(header({ text: { first: 0, parts: 'o2' } })), Buffer.from([0xc3, 0x28])]),
      /part 0 \(seq 0\) is not valid UTF-8/,
    ],
    [
      'updates that are not an array',
      Buffer.from(header({ updates: 1, text: { first: 0, parts: 'o1' } }) + 'a'),
      /"updates" must be an array/,
    ],
  ];
  for (const [what, body, message] of refusals)
    it(`refuses ${what} with a ValidationError that says what to fix`, () => {
      assert.throws(
        () => decodeTextBatch(body),
        (error: unknown) => error instanceof ValidationError && message.test(error.message),
      );
    });
});
