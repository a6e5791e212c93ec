// Owns the one answer shape the console reads that shared/ cannot give it: GET /v1/workers's page of workers.
import type { WorkerView } from '../../shared/workers/types.ts';

/**
 * One worker as GET /v1/workers lists it: shared/workers/list.ts WorkerSummary, which the console cannot import
 * (that module's cursor code needs Node's Buffer, and web/tsconfig.json has no Node types). Picked from
 * WorkerView so a renamed field breaks here too; the list has no command registry nor info (GET /v1/workers/{name}).
 */
export type WorkerSummary = Pick<
  WorkerView,
  'name' | 'presence' | 'createdAt' | 'lastSeenAt' | 'concurrency' | 'running' | 'version'
>;

export interface WorkerList {
  workers: WorkerSummary[];
  next?: string;
}
