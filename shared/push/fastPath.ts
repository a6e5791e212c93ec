// Owns the fast path: the handler that stored an ack or a status change posts it to that command's subscribers itself.
import type { SequencedUpdate } from '../commands/apiTypes.ts';
import type { CommandItem } from '../commands/items.ts';
import { loggableError, logger } from '../observability.ts';
import { pushContextFromEnv } from './context.ts';
import type { PushContext } from './context.ts';
import { postToConnections, publish } from './poster.ts';
import { isWatched, recordWatchers, unwatchCommand } from './snapshot.ts';
import { commandFrames, statusFrameOf } from './statusFrame.ts';
import { updateFrames } from './wire.ts';
import type { PushFrame } from './wire.ts';

/*
 * Why here and not only from the stream: on AWS, Lambda polls a DynamoDB stream shard about 4 times a second,
 * so a fan-out fed by the stream alone adds 100–250 ms. The handler that wrote the change knows it at once and
 * posts it (to the watchers its record lists, else after one subscribers Query); the stream fan-out (fanOut.ts) posts the same
 * changes again as the backstop for a post the fast path missed (a crash between the write and the post, a
 * subscription made while the post was under way). Clients dedupe by seq and by status order.
 *
 * What it costs a write with nobody watching: nothing. It posts to the command's own subscribers only, and
 * only when the record it just wrote is marked watched (snapshot.ts); the record lists its watchers, so a
 * watched command's writes post with no Query either (one only when the list is full). The watchers of a
 * worker or of every command (consoles) hear of status changes from the stream fan-out alone, ~100–250 ms
 * later on AWS (docs/client.md, Push): three Queries on every claim and every ending were too much for that.
 *
 * Every function here resolves, never rejects: a push failure is logged and counted, and the write stands.
 */

function fastPathContext(): PushContext | undefined {
  const ctx = pushContextFromEnv();
  return ctx?.fastPath ? ctx : undefined;
}

async function guarded(ctx: PushContext, what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    ctx.tally.failures++;
    logger.warn(`push: ${what} failed`, { error: loggableError(error as Error) });
  }
}

/**
 * Posts `frames` to the watchers of `item`, a watched record as a write just returned it: those it lists, or
 * the subscribers a Query finds when the list is not whole. A listed connection found gone (410) leaves the
 * list here too: its connection's record may have expired, and with it the topics $disconnect would clear.
 */
async function postToWatchers(ctx: PushContext, item: CommandItem, frames: PushFrame[]): Promise<void> {
  const listed = recordWatchers(item);
  if (listed === undefined) return publish(ctx, [{ commandId: item.commandId }], frames);
  const gone = await postToConnections(ctx, listed, frames);
  await Promise.all(gone.map((id) => unwatchCommand(ctx.db, ctx.commandsTable, item.commandId, id)));
}

/** After a claim (queued → running): `item` is the record the claim wrote (ALL_NEW). */
export async function pushStatus(item: CommandItem): Promise<void> {
  const ctx = fastPathContext();
  if (!ctx || !isWatched(item)) return;
  await guarded(ctx, 'a status', () => postToWatchers(ctx, item, [statusFrameOf(item)]));
}

/**
 * After POST .../updates answered `acked`: the request's updates up to it are stored (a resent one again, which
 * the client drops by seq). Small ones go inline; a large one is announced (`acked`) for the client to read.
 * `record` is the record as this process last wrote it (recordCache.ts): when it is at least as far as `acked`,
 * its watchers are the ones to hear of it (a subscription made after that write got it in its snapshot), and
 * none when it is not watched. Without one (or an older one), the subscribers are queried, as the safe way.
 */
export async function pushUpdates(
  commandId: string,
  updates: SequencedUpdate[],
  acked: number,
  record?: CommandItem,
): Promise<void> {
  const ctx = fastPathContext();
  if (!ctx) return;
  // The write that stored them, or a later one: its mark and list are what the race in snapshot.ts needs.
  const written = record && record.acked >= acked ? record : undefined;
  if (written && !isWatched(written)) return;
  const stored = updates.filter(([, seq]) => seq <= acked);
  if (stored.length === 0) return;
  const frames = updateFrames(commandId, stored);
  await guarded(ctx, 'updates', () =>
    written ? postToWatchers(ctx, written, frames) : publish(ctx, [{ commandId }], frames),
  );
}

/**
 * After an ending write was won (the worker's complete, the watchdog, an interrupt of a queued command, the
 * DLQ), never at a re-send of its event: the final run the ending stored on the record, then the completion.
 * Final updates too large for the record were stored as runs: the frame's `acked` tells the client to read them.
 */
export async function pushCompletion(item: CommandItem): Promise<void> {
  const ctx = fastPathContext();
  if (!ctx || !isWatched(item)) return;
  await guarded(ctx, 'a completion', () => postToWatchers(ctx, item, commandFrames(item)));
}
