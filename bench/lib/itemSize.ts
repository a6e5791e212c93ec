// Owns the size DynamoDB bills an item at.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The size DynamoDB bills an item at, by its documented rules: attribute names count their UTF-8
 * bytes; strings their UTF-8 bytes; binary its bytes; a number about one byte per two significant
 * digits plus one; null and booleans one byte; a list or map 3 bytes plus one per element plus its
 * contents. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
 */
export function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + valueSize(value),
    0,
  );
}

function numberSize(text: string): number {
  const digits = text
    .replace(/^-/, '')
    .replace(/e.*$/i, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  if (value.L) return 3 + value.L.reduce((sum, element) => sum + 1 + valueSize(element), 0);
  if (value.M)
    return (
      3 +
      Object.values(value.M).reduce((sum, element) => sum + 1 + valueSize(element), 0) +
      itemNames(value.M)
    );
  return 0;
}

function itemNames(map: Record<string, AttributeValue>): number {
  return Object.keys(map).reduce((sum, name) => sum + Buffer.byteLength(name), 0);
}
