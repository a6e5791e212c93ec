import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SQSRecord } from 'aws-lambda';
import { messagesToDelete } from '../../local/pollers.ts';

function records(...ids: string[]): SQSRecord[] {
  return ids.map((id) => ({ messageId: id, receiptHandle: `rh-${id}` }) as SQSRecord);
}

describe('which messages a poller deletes after a successful invocation', () => {
  it('deletes the whole batch without ReportBatchItemFailures, whatever the function returned', () => {
    // Act
    const deleted = messagesToDelete(
      records('a', 'b'),
      { batchItemFailures: [{ itemIdentifier: 'a' }] },
      false,
    );

    // Assess
    assert.deepEqual(
      deleted.map((record) => record.messageId),
      ['a', 'b'],
    );
  });

  it('deletes all but the reported failures', () => {
    // Act
    const deleted = messagesToDelete(
      records('a', 'b', 'c'),
      { batchItemFailures: [{ itemIdentifier: 'b' }] },
      true,
    );

    // Assess
    assert.deepEqual(
      deleted.map((record) => record.messageId),
      ['a', 'c'],
    );
  });

  it('deletes everything when the response is empty or has no failures', () => {
    // Act / Assess
    assert.equal(messagesToDelete(records('a'), undefined, true).length, 1);
    assert.equal(messagesToDelete(records('a'), { batchItemFailures: [] }, true).length, 1);
  });

  it('deletes nothing when a failure names an unknown, empty or missing identifier, as Lambda does', () => {
    // Act / Assess
    assert.equal(
      messagesToDelete(records('a', 'b'), { batchItemFailures: [{ itemIdentifier: 'zz' }] }, true).length,
      0,
    );
    assert.equal(
      messagesToDelete(records('a', 'b'), { batchItemFailures: [{ itemIdentifier: '' }] }, true).length,
      0,
    );
    assert.equal(messagesToDelete(records('a', 'b'), { batchItemFailures: [{}] }, true).length, 0);
    assert.equal(messagesToDelete(records('a', 'b'), { batchItemFailures: 'bad' }, true).length, 0);
  });
});
