// The msgpack subset Buildbot's msgpack_experimental_v7 carries: nil, bool, ints, floats, str, bin, array, map.
import { MsgpackError } from './errors.ts';
/**
 * Written here rather than taken from npm: the protocol's messages are maps of a handful of plain types
 * (Python's msgpack.packb of dicts, lists, str, bytes, int, float, bool, None), the agent already takes
 * `ws` as its one new dependency, and this covers every type the stock worker sends. Ext types and
 * timestamps never occur in the protocol and are refused. bin decodes to a Buffer, str to a string.
 */
export type MsgpackValue =
  null | boolean | number | string | Buffer | MsgpackValue[] | { [key: string]: MsgpackValue | undefined };

class Writer {
  private chunks: Buffer[] = [];
  byte(...values: number[]): void {
    this.chunks.push(Buffer.from(values));
  }
  raw(buffer: Buffer): void {
    this.chunks.push(buffer);
  }
  sized(prefix: number, bytes: number, value: number): void {
    const b = Buffer.alloc(1 + bytes);
    b[0] = prefix;
    if (bytes === 1) b.writeUInt8(value, 1);
    else if (bytes === 2) b.writeUInt16BE(value, 1);
    else b.writeUInt32BE(value, 1);
    this.chunks.push(b);
  }
  result(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** An integer in the fewest bytes, as Python's msgpack packs it; any other number as a float 64. */
function encodeNumber(w: Writer, n: number): void {
  if (Number.isInteger(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER) {
    if (n >= 0 && n < 128) return w.byte(n);
    if (n < 0 && n >= -32) return w.byte(n & 0xff);
    const b = Buffer.alloc(9);
    let size: number;
    if (n >= 0) {
      if (n < 0x100) [b[0], size] = [0xcc, b.writeUInt8(n, 1)];
      else if (n < 0x10000) [b[0], size] = [0xcd, b.writeUInt16BE(n, 1)];
      else if (n < 0x100000000) [b[0], size] = [0xce, b.writeUInt32BE(n, 1)];
      else [b[0], size] = [0xcf, b.writeBigUInt64BE(BigInt(n), 1)];
    } else if (n >= -0x80) [b[0], size] = [0xd0, b.writeInt8(n, 1)];
    else if (n >= -0x8000) [b[0], size] = [0xd1, b.writeInt16BE(n, 1)];
    else if (n >= -0x80000000) [b[0], size] = [0xd2, b.writeInt32BE(n, 1)];
    else [b[0], size] = [0xd3, b.writeBigInt64BE(BigInt(n), 1)];
    return w.raw(b.subarray(0, size));
  }
  const b = Buffer.alloc(9);
  b[0] = 0xcb;
  b.writeDoubleBE(n, 1);
  w.raw(b);
}

function encodeLength(
  w: Writer,
  length: number,
  fix: number | undefined,
  fixMax: number,
  codes: number[],
): void {
  if (fix !== undefined && length <= fixMax) return w.byte(fix | length);
  const [c8, c16, c32] = codes;
  if (c8 !== undefined && c8 !== 0 && length < 0x100) return w.sized(c8, 1, length);
  if (length < 0x10000) return w.sized(c16!, 2, length);
  w.sized(c32!, 4, length);
}

function encodeValue(w: Writer, value: MsgpackValue | undefined): void {
  if (value === null || value === undefined) return w.byte(0xc0);
  if (value === false) return w.byte(0xc2);
  if (value === true) return w.byte(0xc3);
  if (typeof value === 'number') return encodeNumber(w, value);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    encodeLength(w, bytes.length, 0xa0, 31, [0xd9, 0xda, 0xdb]);
    return w.raw(bytes);
  }
  if (Buffer.isBuffer(value)) {
    encodeLength(w, value.length, undefined, 0, [0xc4, 0xc5, 0xc6]);
    return w.raw(value);
  }
  if (Array.isArray(value)) {
    encodeLength(w, value.length, 0x90, 15, [0, 0xdc, 0xdd]);
    for (const item of value) encodeValue(w, item);
    return;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  encodeLength(w, entries.length, 0x80, 15, [0, 0xde, 0xdf]);
  for (const [key, item] of entries) {
    encodeValue(w, key);
    encodeValue(w, item);
  }
}

export function encode(value: MsgpackValue): Buffer {
  const w = new Writer();
  encodeValue(w, value);
  return w.result();
}

class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}
  need(n: number): void {
    if (this.offset + n > this.buf.length) throw new MsgpackError('msgpack: truncated message');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }
  take(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  // Numbers are read in place, not through take()'s subarray: an update carries one offset and one timestamp per
  // line (3.7), and a Buffer made for each was most of the agent's CPU per MiB of output.
  uint(bytes: number): number {
    this.need(bytes);
    const at = this.offset;
    this.offset += bytes;
    if (bytes === 1) return this.buf[at]!;
    if (bytes === 2) return this.buf.readUInt16BE(at);
    if (bytes === 4) return this.buf.readUInt32BE(at);
    return Number(this.buf.readBigUInt64BE(at));
  }
  int(bytes: number): number {
    this.need(bytes);
    const at = this.offset;
    this.offset += bytes;
    if (bytes === 1) return this.buf.readInt8(at);
    if (bytes === 2) return this.buf.readInt16BE(at);
    if (bytes === 4) return this.buf.readInt32BE(at);
    return Number(this.buf.readBigInt64BE(at));
  }
  float(bytes: 4 | 8): number {
    this.need(bytes);
    const at = this.offset;
    this.offset += bytes;
    return bytes === 4 ? this.buf.readFloatBE(at) : this.buf.readDoubleBE(at);
  }
}

function decodeValue(r: Reader): MsgpackValue {
  const t = r.u8();
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  if (t >= 0x80 && t <= 0x8f) return decodeMap(r, t & 0x0f);
  if (t >= 0x90 && t <= 0x9f) return decodeArray(r, t & 0x0f);
  if (t >= 0xa0 && t <= 0xbf) return r.take(t & 0x1f).toString('utf8');
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
    case 0xc5:
    case 0xc6:
      return Buffer.from(r.take(r.uint(1 << (t - 0xc4))));
    case 0xca:
      return r.float(4);
    case 0xcb:
      return r.float(8);
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
      return r.uint(1 << (t - 0xcc));
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      return r.int(1 << (t - 0xd0));
    case 0xd9:
    case 0xda:
    case 0xdb:
      return r.take(r.uint(1 << (t - 0xd9))).toString('utf8');
    case 0xdc:
    case 0xdd:
      return decodeArray(r, r.uint(t === 0xdc ? 2 : 4));
    case 0xde:
    case 0xdf:
      return decodeMap(r, r.uint(t === 0xde ? 2 : 4));
    default:
      throw new MsgpackError(`msgpack: type 0x${t.toString(16)} is not used by the protocol`);
  }
}

function decodeArray(r: Reader, n: number): MsgpackValue[] {
  const out: MsgpackValue[] = [];
  for (let i = 0; i < n; i++) out.push(decodeValue(r));
  return out;
}

function decodeMap(r: Reader, n: number): { [key: string]: MsgpackValue } {
  const out: { [key: string]: MsgpackValue } = Object.create(null) as { [key: string]: MsgpackValue };
  for (let i = 0; i < n; i++) {
    const key = decodeValue(r);
    out[Buffer.isBuffer(key) ? key.toString('utf8') : String(key)] = decodeValue(r);
  }
  return out;
}

export function decode(buffer: Buffer): MsgpackValue {
  const r = new Reader(buffer);
  const value = decodeValue(r);
  if (r.offset !== buffer.length) throw new MsgpackError('msgpack: bytes after the message');
  return value;
}
