// The small value schemas that requests, answers and queue messages share (statuses, results, failures), apart so a queue consumer bundles no request schema.
import * as v from 'valibot';
import { COMMAND_STATUS, FAILURE_KINDS, RESULTS } from './types.ts';

export const commandStatus = v.picklist(Object.values(COMMAND_STATUS));
export const results = v.picklist(Object.values(RESULTS));
export const isoTime = v.string();

export const commandFailure = v.object({
  kind: v.picklist(Object.values(FAILURE_KINDS)),
  message: v.string(),
});
