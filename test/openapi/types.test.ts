import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  CommandList,
  CompleteOutcome,
  InterruptOutcome,
  UpdatesPage,
} from '../../shared/commands/apiTypes.ts';
import type {
  commandList,
  completeResponse,
  interruptResponse,
  updatesPage,
} from '../../shared/commands/answers.ts';
import type { Infer } from '../../shared/schema.ts';
import type { RegisteredWorker, WorkerView } from '../../shared/workers/types.ts';
import type { WorkerList } from '../../shared/workers/list.ts';
import type { registeredWorker, workerList, workerView } from '../../shared/workers/wire.ts';

/**
 * Answers whose TypeScript shape is written beside the code that makes them (not inferred from their
 * schema) must match the schema the OpenAPI document gives them: `tsc` fails this file when they drift.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

const checks: true[] = [
  true satisfies Same<WorkerView, Infer<typeof workerView>>,
  true satisfies Same<RegisteredWorker, Infer<typeof registeredWorker>>,
  true satisfies Same<WorkerList, Infer<typeof workerList>>,
  true satisfies Same<CommandList, Infer<typeof commandList>>,
  true satisfies Same<UpdatesPage, Infer<typeof updatesPage>>,
  true satisfies Same<InterruptOutcome, Infer<typeof interruptResponse>>,
  true satisfies Same<CompleteOutcome, Infer<typeof completeResponse>>,
];

describe('answer types and their schemas', () => {
  it('agree (checked by the type checker; this test only runs the file)', () => {
    assert.equal(checks.length, 7);
  });
});
