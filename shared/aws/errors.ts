// The AWS helpers' errors: a conditional write that lost without an explanation, a stored item of the wrong shape.
import { BuildbotError } from '../errors.ts';

/**
 * A lost write the caller cannot continue from: the condition's parts it names did not all hold, and the
 * item DynamoDB returned (if any) did not explain why. A bug or a damaged item, answered as a 500.
 */
export class ConditionFailedError extends BuildbotError {
  static override readonly code = 'write_condition_failed';
  static override readonly httpStatus = 500;

  readonly parts: readonly string[];

  /** `lost`: the outcome of the lost write (conditionalWrite.ts LostWrite). */
  constructor(what: string, lost: { parts: readonly string[]; old: unknown }) {
    super(
      `${what}: the condition ${lost.parts.join(' AND ')} did not hold` +
        (lost.old === undefined ? ' and no item was there' : ''),
      { details: { condition: lost.parts } },
    );
    this.parts = lost.parts;
  }
}

/** A stored item without an attribute its code needs, or with one of another type. Nothing was decided on it. */
export class ItemDecodeError extends BuildbotError {
  static override readonly code = 'stored_item_malformed';
  static override readonly httpStatus = 500;

  readonly itemName: string;
  readonly attribute: string;

  constructor(itemName: string, attribute: string, expected: string, found: string) {
    super(`${itemName}: attribute ${attribute} is ${found}, expected ${expected}`, {
      details: { item: itemName, attribute },
    });
    this.itemName = itemName;
    this.attribute = attribute;
  }
}
