// Owns the size a text takes as a JSON string value: what a page of log or updates costs in a Lambda response.

/*
 * A Lambda's answer travels as JSON (`{"statusCode":…,"body":"…"}`), and Lambda refuses one over 6 MB after
 * serializing it (LIMITS.lambdaResponseBytes). Node's JSON.stringify escapes the body: `"` and `\` become two
 * characters, a control character two (`\n`) or six (`\u0001`), a lone surrogate six (`\ud800`); every other
 * character is written as itself, in UTF-8. So a body of control characters grows six times, and a JSON body
 * (a page of updates, whose text is escaped once already) grows again: `\u0001` becomes `\\u0001`.
 */

/** Control characters JSON.stringify writes in two characters; the others take six (`\u00XX`). */
const SHORT_ESCAPES = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d]);

function asciiEscapedBytes(code: number): number {
  if (code < 0x20) return SHORT_ESCAPES.has(code) ? 2 : 6;
  return code === 0x22 || code === 0x5c ? 2 : 1;
}

/** UTF-8 bytes of `text` as JSON.stringify writes it inside a string value (the quotes not counted). */
export function jsonStringBytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += asciiEscapedBytes(code);
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 6;
    } else if (code >= 0xdc00 && code <= 0xdfff) bytes += 6;
    else bytes += 3;
  }
  return bytes;
}

/**
 * Bytes of UTF-8 `bytes` written inside a JSON string value, as the text they decode to. Bytes of 0x80 and
 * above stay as they are (valid UTF-8, as stored text is: it was encoded from strings).
 */
export function jsonBufferBytes(bytes: Buffer): number {
  let total = bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte < 0x20 || byte === 0x22 || byte === 0x5c) total += asciiEscapedBytes(byte) - 1;
  }
  return total;
}

/** jsonStringBytes or jsonBufferBytes, for a page's parts of either kind. */
export function jsonPartBytes(part: string | Buffer): number {
  return typeof part === 'string' ? jsonStringBytes(part) : jsonBufferBytes(part);
}

/** Characters of the base64 of `raw` bytes. */
export function base64Bytes(raw: number): number {
  return 4 * Math.ceil(raw / 3);
}

/**
 * How an uncompressed answer goes into the Lambda response: as text (escaped) when that is no larger than its
 * base64, else base64 (`isBase64Encoded`; API Gateway decodes it, so the client reads the same bytes). Base64
 * bounds the cost at 4/3 of the raw bytes where escaping could take 6 times.
 */
export type PlainEncoding = 'text' | 'base64';

/** The raw and escaped bytes of an uncompressed answer's parts, and what it costs in the Lambda response. */
export class PlainAnswerSize {
  raw = 0;
  escaped = 0;

  /** What the answer costs with `raw` and `escaped` more bytes: its cheaper encoding. */
  costWith(raw: number, escaped: number): number {
    return Math.min(this.escaped + escaped, base64Bytes(this.raw + raw));
  }

  get cost(): number {
    return this.costWith(0, 0);
  }

  add(raw: number, escaped: number): void {
    this.raw += raw;
    this.escaped += escaped;
  }

  addPart(part: string | Buffer): void {
    this.add(typeof part === 'string' ? Buffer.byteLength(part) : part.length, jsonPartBytes(part));
  }

  get encoding(): PlainEncoding {
    return this.escaped <= base64Bytes(this.raw) ? 'text' : 'base64';
  }

  static of(parts: (string | Buffer)[]): PlainAnswerSize {
    const size = new PlainAnswerSize();
    for (const part of parts) size.addPart(part);
    return size;
  }
}
