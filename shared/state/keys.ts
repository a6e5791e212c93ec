// Owns the state table's keys, one builder per access pattern, and what happens to names over the key limits.
/**
 * Keys of the state table (infra/state-table.yml). Access patterns, numbered as in the YAML:
 *
 *   1. Find the id of an object by (className, name)      GetItem    objectKey()
 *   2. Claim an object key once for the whole cluster     PutItem    objectKey(), attribute_not_exists(pk)
 *   3. Allocate the next object id                        UpdateItem objectIdCounterKey(), ADD
 *   4. Read one state value of an object                  GetItem    stateKey()
 *   5. Create / overwrite / lease one state value         PutItem    stateKey(), conditional
 *
 * Patterns 1 and 2 (and 4 and 5) touch the same item: the read and the conditional write of one row,
 * as Buildbot's select() and insert() share one table.
 *
 * DynamoDB caps a partition key at 2048 bytes and a sort key at 1024 bytes (UTF-8). The limits below
 * keep every key under those caps; see `ensureLength` for what happens to longer names.
 */
import { createHash } from 'node:crypto';
import * as LIMITS from '../limits.ts';
import { StateNameTooLongError } from './errors.ts';

export interface TableKey {
  pk: string;
  sk: string;
}

/**
 * Buildbot's `ensureLength`: a name over `limitBytes` keeps its first half and gets the SHA-1 of the
 * whole name appended, so distinct long names stay distinct and the same name always maps to the same
 * key. Truncation is on a code point boundary so the result is valid UTF-8.
 */
export function ensureLength(value: string, limitBytes: number): string {
  if (Buffer.byteLength(value, 'utf8') <= limitBytes) return value;
  const digest = createHash('sha1').update(value, 'utf8').digest('hex');
  return truncateUtf8(value, Math.floor(limitBytes / 2)) + digest;
}

/** The longest prefix of `value` whose UTF-8 form fits in `maxBytes`. */
export function truncateUtf8(value: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of value) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return value.slice(0, end);
}

/**
 * `#` separates the parts of the object key, so a className may not contain a bare one: escaping `%`
 * and `#` keeps ("a#b", "c") and ("a", "b#c") apart. Names come last in the key and need no escaping.
 */
function escapeClassName(className: string): string {
  return className.replaceAll('%', '%25').replaceAll('#', '%23');
}

/** Patterns 1 and 2: the item mapping (className, name) to its object id. */
export function objectKey(name: string, className: string): TableKey {
  const escaped = escapeClassName(className);
  const bytes = Buffer.byteLength(escaped, 'utf8');
  if (bytes > LIMITS.classNameBytes)
    throw new StateNameTooLongError(
      `className is ${bytes} bytes (escaped); the limit is ${LIMITS.classNameBytes} bytes`,
      { details: { field: 'className', bytes, limit: LIMITS.classNameBytes } },
    );
  return { pk: `OBJKEY#${escaped}#${ensureLength(name, LIMITS.objectNameBytes)}`, sk: 'OBJKEY' };
}

/** Pattern 3: the one counter every object id is drawn from. */
export function objectIdCounterKey(): TableKey {
  return { pk: 'COUNTER#objectId', sk: 'COUNTER' };
}

/** Patterns 4 and 5: one state value (or its pending lease) of one object. */
export function stateKey(objectId: number, name: string): TableKey {
  return { pk: `OBJ#${objectId}`, sk: `STATE#${ensureLength(name, LIMITS.stateNameBytes)}` };
}
