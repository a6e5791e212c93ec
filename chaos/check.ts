// After the faults: waits for every command to end, then checks each one for lost acks, second runs and no end.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandsClient } from '../shared/client/CommandsClient.ts';
import type { CommandView } from '../shared/client/types.ts';
import type { Submission } from './load.ts';

/** Buildbot's result codes, by number. */
const RESULT_NAMES = ['SUCCESS', 'WARNINGS', 'FAILURE', 'SKIPPED', 'EXCEPTION', 'RETRY', 'CANCELLED'];

/** What the check found of one command. */
export interface Verdict {
  key: string;
  commandId?: string;
  worker: string;
  /** 'SUCCESS', 'RETRY', ...; 'not_started' when the API never accepted it; 'stuck' when it has no end. */
  result: string;
  /** The failure kind, or 'none'. */
  failure: string;
  /** Acked updates or lines missing: an update served once and gone or changed, a hole, a SUCCESS short of lines. */
  lost: number;
  /** Lines stored more than once. */
  duplicatedLines: number;
  /** Times the command's process ran (its marker file's lines). */
  runs: number;
  stuck: boolean;
  startedAt: number;
  endedAt: number;
}

export async function mapLimit<T, R>(items: T[], limit: number, each: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        out[index] = await each(items[index] as T);
      }
    }),
  );
  return out;
}

async function patiently<T>(call: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await sleep(300 * attempt);
    }
  }
}

/** Polls every accepted command until all are complete or `deadline` passes; the views last read, by key. */
export async function settle(
  client: CommandsClient,
  submissions: Submission[],
  deadline: number,
): Promise<Map<string, CommandView>> {
  const views = new Map<string, CommandView>();
  let open = submissions.filter((s) => s.commandId !== undefined);
  while (open.length > 0) {
    await mapLimit(open, 8, async (submission) => {
      try {
        const view = await client.getCommand(submission.commandId as string);
        views.set(submission.key, view);
        if (view.status === 'complete') submission.endedAt ??= Date.now();
      } catch {
        // Read again next round.
      }
    });
    open = open.filter((s) => views.get(s.key)?.status !== 'complete');
    if (open.length === 0 || Date.now() > deadline) break;
    await sleep(1000);
  }
  return views;
}

/** Every stored update of the command, by seq, as JSON text. */
async function storedUpdates(client: CommandsClient, commandId: string): Promise<Map<number, string>> {
  const stored = new Map<number, string>();
  let after = -1;
  for (;;) {
    const page = await patiently(() => client.getUpdates(commandId, after));
    for (const [update, seq] of page.updates) stored.set(seq, JSON.stringify(update));
    if (page.next === undefined || page.updates.length === 0) return stored;
    after = page.next;
  }
}

/** Lines of the form `<key> line N` in the log: how many are missing below the highest, and how many repeat. */
function lineFindings(text: string, key: string, expected: number, success: boolean) {
  const counts = new Map<number, number>();
  const pattern = new RegExp(`^${key} line (\\d+)$`);
  for (const line of text.split('\n')) {
    const match = pattern.exec(line);
    if (match) counts.set(Number(match[1]), (counts.get(Number(match[1])) ?? 0) + 1);
  }
  const highest = success ? expected : Math.max(0, ...counts.keys());
  let missing = 0;
  for (let n = 1; n <= highest; n++) if (!counts.has(n)) missing++;
  const duplicated = [...counts.values()].reduce((sum, count) => sum + (count - 1), 0);
  return { missing, duplicated };
}

function markerRuns(markerDir: string, key: string): number {
  try {
    return readFileSync(join(markerDir, key), 'utf8')
      .split('\n')
      .filter((line) => line === key).length;
  } catch {
    return 0;
  }
}

/** The verdict of each submission, from its last view, its stored log and updates, and its marker file. */
export async function verify(
  client: CommandsClient,
  submissions: Submission[],
  views: Map<string, CommandView>,
  markerDir: string,
  opts: { readLogs: boolean },
): Promise<Verdict[]> {
  return mapLimit(submissions, 8, async (submission): Promise<Verdict> => {
    const view = views.get(submission.key);
    const base = {
      key: submission.key,
      worker: submission.worker,
      runs: markerRuns(markerDir, submission.key),
      startedAt: submission.firstTriedAt,
      endedAt: submission.endedAt ?? Date.now(),
      lost: 0,
      duplicatedLines: 0,
    };
    if (submission.commandId === undefined)
      return { ...base, result: 'not_started', failure: submission.refused ?? 'none', stuck: false };
    const commandId = submission.commandId;
    if (view?.status !== 'complete')
      return { ...base, commandId, result: 'stuck', failure: view?.status ?? 'unread', stuck: true };
    const result = RESULT_NAMES[view.results ?? -1] ?? String(view.results);
    let lost = 0;
    let duplicatedLines = 0;
    if (opts.readLogs || submission.observed.size > 0) {
      const stored = await storedUpdates(client, commandId);
      for (const [seq, text] of submission.observed) if (stored.get(seq) !== text) lost++;
    }
    if (opts.readLogs) {
      const log = await patiently(() => client.getLog(commandId, 'stdio'));
      const lines = lineFindings(log, submission.key, submission.lines, view.rc === 0);
      lost += lines.missing;
      duplicatedLines = lines.duplicated;
    }
    return {
      ...base,
      commandId,
      result,
      failure: view.failure?.kind ?? 'none',
      lost,
      duplicatedLines,
      stuck: false,
    };
  });
}
