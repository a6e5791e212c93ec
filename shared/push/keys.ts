// Owns the connections table's keys: access patterns of push connections and their subscriptions.
import type { PushTopic } from './wire.ts';

/*
 * Access patterns (infra/connections-table.yml lists the same):
 *   1. Open, read and close one connection          Put/Delete pk=CONN#<connectionId>  sk=CONN
 *      The record lists its subscriptions (`topics`), so $disconnect deletes each without a query.
 *   2. Subscribe / unsubscribe a connection          Put/Delete pk=TOPIC#<topic>  sk=<connectionId>
 *      <topic> is CMD#<commandId>, WORKER#<name> or ALL.
 *   3. The subscribers of a topic (the fan-out)      Query pk=TOPIC#<topic>
 *      One Query per topic: a command's updates query one partition, a status change three.
 * Every item carries expiresAt (TTL): API Gateway ends a connection after 2 hours, and a $disconnect that never
 * ran (a crash) leaves items that then expire on their own. TOPIC#ALL is one partition for every watcher of
 * everything: fine for consoles (tens), not for thousands of them (docs/architecture.md, Push).
 */

export interface ConnectionKey {
  pk: string;
  sk: string;
}

/** Pattern 1. */
export function connectionKey(connectionId: string): ConnectionKey {
  return { pk: `CONN#${connectionId}`, sk: 'CONN' };
}

/** The partition of a topic (pattern 2 and 3). */
export function topicPk(topic: PushTopic): string {
  if ('commandId' in topic) return `TOPIC#CMD#${topic.commandId}`;
  if ('worker' in topic) return `TOPIC#WORKER#${topic.worker}`;
  return 'TOPIC#ALL';
}

/** Pattern 2. */
export function subscriptionKey(topic: PushTopic, connectionId: string): ConnectionKey {
  return { pk: topicPk(topic), sk: connectionId };
}

/** A subscription's topic back from its partition key, as a connection record lists it. */
export function topicOfPk(pk: string): PushTopic | undefined {
  if (pk === 'TOPIC#ALL') return { all: true };
  if (pk.startsWith('TOPIC#CMD#')) return { commandId: pk.slice('TOPIC#CMD#'.length) };
  if (pk.startsWith('TOPIC#WORKER#')) return { worker: pk.slice('TOPIC#WORKER#'.length) };
  return undefined;
}
