// The pure half of the update sender: output waits here, adjacent chunks of one stream merged.
import type { CommandUpdate } from '../shared/commands/wire.ts';
import * as LIMITS from '../shared/limits.ts';

/**
 * The pure half of the update sender: output waits here until it is sent. Adjacent chunks of the same
 * stream (stdout, stderr, header, or the same named log) merge into one update, so a chatty process
 * costs a few updates per batch instead of one per pipe read. Order across streams is kept exactly:
 * stdout then stderr then stdout stays three updates.
 */

type StreamKey = 'stdout' | 'stderr' | 'header';
const STREAMS: readonly StreamKey[] = ['stdout', 'stderr', 'header'];

/** The text an update carries and the stream it belongs to, or undefined for rc, elapsed and the like. */
function streamOf(update: CommandUpdate): { key: string; text: string } | undefined {
  const keys = Object.keys(update);
  if (keys.length !== 1) return undefined;
  for (const stream of STREAMS) {
    const text = update[stream];
    if (text !== undefined) return { key: stream, text };
  }
  if (update.log !== undefined) return { key: `log:${update.log[0]}`, text: update.log[1] };
  return undefined;
}

function withText(update: CommandUpdate, text: string): CommandUpdate {
  if (update.log !== undefined) return { log: [update.log[0], text] };
  const [key] = Object.keys(update) as StreamKey[];
  return { [key as StreamKey]: text };
}

/** UTF-8 size of an update's text (what bufferBytes counts); non-text updates count a few bytes. */
export function updateBytes(update: CommandUpdate): number {
  const stream = streamOf(update);
  return stream ? Buffer.byteLength(stream.text) : 16;
}

/**
 * About how many bytes of JSON an update makes in a request, without serializing it: text plus a margin
 * for the keys and a few escapes (the sender corrects a batch that comes out larger). Others are serialized.
 */
export function jsonBytesEstimate(update: CommandUpdate): number {
  const stream = streamOf(update);
  if (stream === undefined) return Buffer.byteLength(JSON.stringify(update)) + 8;
  return (
    Math.ceil(Buffer.byteLength(stream.text) * 1.05) +
    32 +
    (update.log ? Buffer.byteLength(update.log[0]) : 0)
  );
}

export class UpdateBuffer {
  private updates: CommandUpdate[] = [];
  private size = 0;

  /** Text bytes waiting to be sent. */
  get bytes(): number {
    return this.size;
  }

  get length(): number {
    return this.updates.length;
  }

  append(update: CommandUpdate): void {
    const incoming = streamOf(update);
    if (incoming !== undefined && incoming.text === '') return;
    this.size += updateBytes(update);
    const last = this.updates[this.updates.length - 1];
    const previous = last === undefined ? undefined : streamOf(last);
    if (
      last !== undefined &&
      previous !== undefined &&
      incoming !== undefined &&
      previous.key === incoming.key &&
      previous.text.length + incoming.text.length <= LIMITS.updateChars
    ) {
      this.updates[this.updates.length - 1] = withText(last, previous.text + incoming.text);
      return;
    }
    // A chunk larger than the limit is cut, so no single update outgrows a request or a stored item.
    if (incoming !== undefined && incoming.text.length > LIMITS.updateChars) {
      let at = 0;
      while (at < incoming.text.length) {
        let end = Math.min(at + LIMITS.updateChars, incoming.text.length);
        // Never split a surrogate pair: both halves would be invalid UTF-16 alone.
        const code = incoming.text.charCodeAt(end - 1);
        if (end < incoming.text.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
        this.updates.push(withText(update, incoming.text.slice(at, end)));
        at = end;
      }
      return;
    }
    this.updates.push(update);
  }

  /** Everything buffered, in order; the buffer is empty afterwards. */
  drain(): CommandUpdate[] {
    const out = this.updates;
    this.updates = [];
    this.size = 0;
    return out;
  }
}
