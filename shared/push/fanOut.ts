// Owns the stream fan-out (the backstop): commands-table stream records in, frames to each command's subscribers out.
import type { AttributeValue as StreamAttributeValue, DynamoDBRecord } from 'aws-lambda';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { asCommandItem } from '../commands/items.ts';
import type { CommandItem } from '../commands/items.ts';
import { UPDATE_SK_PREFIX } from '../commands/keys.ts';
import { asStoredRun } from '../commands/runs.ts';
import { COMMAND_STATUS } from '../commands/types.ts';
import { loggableError, logger } from '../observability.ts';
import type { PushContext } from './context.ts';
import { commandFrames, runFrames, statusFrameOf, statusTopics } from './statusFrame.ts';
import { publish } from './poster.ts';
import type { PushFrame, PushTopic } from './wire.ts';

/*
 * The commands table's stream (NEW_IMAGE, infra/commands-table.yml) carries every write. What is pushed:
 *   a command record (sk CMD)        → a `status` frame to the command's subscribers (a completion's with
 *                                      its final updates inline, statusFrame.ts); to its worker's and to
 *                                      everyone's too unless it is a running command's ack or heartbeat
 *                                      (status frames for watchers of many commands mean a change of status)
 *   an update run (sk UPD#<seq>)     → `updates` frames (or `acked` when large) to the command's subscribers
 *   anything else (workers, tokens)  → nothing; serverless.yml's filter keeps most of them from invoking at all
 * Frames for one command go out in stream order, in one publish: one subscribers Query per topic per batch.
 */

/** Lambda's JSON of an image has binary values as base64; unmarshall wants bytes. */
function toSdkImage(image: Record<string, StreamAttributeValue>): Record<string, AttributeValue> {
  const convert = (value: StreamAttributeValue): AttributeValue => {
    if (value.B !== undefined) return { B: Buffer.from(value.B, 'base64') };
    if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b, 'base64')) };
    if (value.L !== undefined) return { L: value.L.map(convert) };
    if (value.M !== undefined) return { M: toSdkImage(value.M) };
    return value as AttributeValue;
  };
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, convert(value)]));
}

interface Pending {
  item?: Pick<CommandItem, 'commandId' | 'worker'>;
  /** Frames for the command's own subscribers, in stream order. */
  frames: PushFrame[];
  /** A status frame that also goes to the worker's and everyone's subscribers (the last one in the batch). */
  broadcast?: PushFrame;
}

/** Posts what a batch of stream records changed. Never throws: a bad record is logged and skipped. */
export async function fanOut(ctx: PushContext, records: DynamoDBRecord[]): Promise<void> {
  const byCommand = new Map<string, Pending>();
  for (const record of records) {
    const image = record.dynamodb?.NewImage;
    if (record.eventName === 'REMOVE' || !image) continue;
    // Worker records, tokens and the rest: not read at all (serverless.yml's filter keeps them out on AWS).
    const key = { pk: image.pk?.S ?? '', sk: image.sk?.S ?? '' };
    if (!key.pk.startsWith('CMD#') || (key.sk !== 'CMD' && !key.sk.startsWith(UPDATE_SK_PREFIX))) continue;
    try {
      const raw = unmarshall(toSdkImage(image));
      const commandId = key.pk.slice('CMD#'.length);
      const sk = key.sk;
      const pending = byCommand.get(commandId) ?? { frames: [] };
      byCommand.set(commandId, pending);
      if (sk === 'CMD') {
        const item = asCommandItem(raw);
        pending.item = item;
        pending.frames.push(...commandFrames(item));
        const ackOnly = item.status === COMMAND_STATUS.running && item.acked >= 0;
        // Watchers of many commands get the status alone, never a command's update text.
        if (!ackOnly) pending.broadcast = statusFrameOf(item);
      } else if (sk.startsWith(UPDATE_SK_PREFIX)) {
        pending.frames.push(...runFrames(commandId, asStoredRun(raw)));
      }
    } catch (error) {
      logger.warn('push: a stream record was skipped', {
        eventID: record.eventID,
        error: loggableError(error as Error),
      });
    }
  }
  await Promise.all(
    [...byCommand].map(async ([commandId, pending]) => {
      const broadcastTopics: PushTopic[] =
        pending.broadcast && pending.item ? statusTopics(pending.item).slice(1) : [];
      await Promise.all([
        publish(ctx, [{ commandId }], pending.frames),
        pending.broadcast ? publish(ctx, broadcastTopics, [pending.broadcast]) : undefined,
      ]);
    }),
  );
}
