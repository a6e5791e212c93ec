// Owns posting frames to connections (PostToConnection), deleting the gone ones, and counting what failed.
import { loggableError, logger } from '../observability.ts';
import { closeConnection } from './close.ts';
import { subscribersOf } from './subscribers.ts';
import type { PushContext } from './context.ts';
import { encodeFrame } from './wire.ts';
import type { PushFrame, PushTopic } from './wire.ts';

const utf8 = new TextEncoder();

/**
 * Posts `frames`, in order, to one connection. A gone connection (410: the client left without a
 * $disconnect reaching us, or the connection timed out) is deleted with its subscriptions; the rest of its
 * frames are dropped. Answers false when it was gone.
 */
// The post's IAM action, which test/infra/iam.test.ts holds the posting functions' roles to:
// iamAction: 'execute-api:ManageConnections'
async function postAll(ctx: PushContext, connectionId: string, frames: Uint8Array[]): Promise<boolean> {
  for (const data of frames) {
    if ((await ctx.api.post(connectionId, data)) === 'gone') {
      ctx.tally.gone++;
      await closeConnection(ctx, connectionId);
      return false;
    }
    ctx.tally.posted++;
    ctx.tally.postedBytes += data.length;
  }
  return true;
}

/**
 * Posts `frames` to these connections (each in order, the connections at once), and answers those found gone
 * (410; their connection records are deleted). Never throws: see publish().
 */
export async function postToConnections(
  ctx: PushContext,
  connectionIds: string[],
  frames: PushFrame[],
): Promise<string[]> {
  if (connectionIds.length === 0 || frames.length === 0) return [];
  const encoded = frames.map((frame) => utf8.encode(encodeFrame(frame)));
  const results = await Promise.allSettled(connectionIds.map((id) => postAll(ctx, id, encoded)));
  const gone: string[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') {
      if (!result.value) gone.push(connectionIds[i]!);
      return;
    }
    ctx.tally.failures++;
    logger.warn('push: a post failed', { error: loggableError(result.reason as Error) });
  });
  return gone;
}

/**
 * Posts `frames` to every subscriber of any of `topics`: one subscribers Query per topic, then the posts.
 * Push never fails the write that caused it: a failure is logged and counted (tally.failures), and the
 * client, which dedupes by seq, gets the same news from the stream fan-out or its own read.
 */
export async function publish(ctx: PushContext, topics: PushTopic[], frames: PushFrame[]): Promise<void> {
  if (frames.length === 0) return;
  let connections: string[];
  try {
    connections = await subscribersOf(ctx, topics);
  } catch (error) {
    ctx.tally.failures++;
    logger.warn('push: the subscribers query failed', { error: loggableError(error as Error) });
    return;
  }
  await postToConnections(ctx, connections, frames);
}
