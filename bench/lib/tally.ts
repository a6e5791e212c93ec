// Owns adding AWS request tallies from several processes.
import type { RequestTally } from '../../shared/aws/requestCounter.ts';

/** Adds AWS request tallies from several processes (the bench process, workers, racers). */
export function mergeTallies(...tallies: RequestTally[]): RequestTally {
  const merged: RequestTally = { requests: {}, writeUnits: 0, readUnits: 0 };
  for (const tally of tallies) {
    for (const [operation, count] of Object.entries(tally.requests))
      merged.requests[operation] = (merged.requests[operation] ?? 0) + count;
    merged.writeUnits += tally.writeUnits;
    merged.readUnits += tally.readUnits;
  }
  return merged;
}

export function totalRequests(tally: RequestTally, service?: 'dynamodb' | 'sqs'): number {
  return Object.entries(tally.requests)
    .filter(([operation]) => service === undefined || operation.startsWith(`${service}:`))
    .reduce((sum, [, count]) => sum + count, 0);
}
