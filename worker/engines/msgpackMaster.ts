// The master side of Buildbot's msgpack_experimental_v7 on 127.0.0.1: auth, seq_number requests both ways, update/complete.
import { StockWorkerError } from './errors.ts';
import { CommandStartError } from '../errors.ts';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { WorkerLogSink } from '../log.ts';
import { decode, encode } from './msgpackCodec.ts';
import type { MsgpackValue } from './msgpackCodec.ts';

/**
 * As Buildbot's master/buildbot/worker/protocols/manager/msgpack.py and protocols/msgpack.py, reduced to one
 * worker: each WebSocket frame is one binary msgpack map; a request carries `op` and a `seq_number` from the
 * sender's own counter, its answer is `{op: 'response', seq_number, result[, is_exception]}`. The worker
 * authenticates with HTTP Basic at the handshake. After it connects we ask `get_worker_info` and send
 * `set_worker_settings` (Buildbot's line splitting, with our buffer time), then it is ready for commands.
 */

export type Message = { [key: string]: MsgpackValue | undefined };

/** How long a command waits for a (re)starting stock worker to connect. */
export const CONNECT_WAIT_MS = 30_000;

/** What one started command hears from the stock worker. */
export interface StockCommandListener {
  /** One `update`: its [key, value] pairs as the worker sent them. */
  onUpdate(pairs: [string, MsgpackValue][]): void;
  /** `complete`: `failure` is the worker's failure text, or null. */
  onComplete(failure: string | null): void;
  /** The connection went away before `complete`. */
  onLost(reason: string): void;
  /**
   * A transfer op of this command (update_upload_file_write, update_read_file, ...): its answer is the
   * response's result, a rejection its exception. The worker waits for each answer before its next block,
   * so an answer held back is back-pressure. Without this, the op is answered with an exception.
   */
  onTransfer?(op: string, message: Message): Promise<MsgpackValue>;
}

export interface MsgpackMasterOptions {
  workerName: string;
  password: string;
  /** How long the worker may hold output before sending it, in seconds (set_worker_settings buffer_timeout). */
  bufferTimeout: number;
  log: WorkerLogSink;
}

/** One connected stock worker. */
export class StockWorkerConnection {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve(v: MsgpackValue): void; reject(e: Error): void }>();
  private readonly commands = new Map<string, StockCommandListener>();
  private closedWhy: string | undefined;
  info: Message = {};

  constructor(
    private readonly socket: WebSocket,
    private readonly log: WorkerLogSink,
  ) {
    socket.on('message', (data) => this.receive(data));
    socket.on('close', () => this.closed('the connection to buildbot-worker closed'));
    socket.on('error', (error) => this.closed(`the connection to buildbot-worker failed: ${error.message}`));
  }

  get open(): boolean {
    return this.closedWhy === undefined;
  }

  /** Sends one request and waits for its response; an is_exception response rejects with its text. */
  request(message: Message): Promise<MsgpackValue> {
    if (this.closedWhy !== undefined) return Promise.reject(new StockWorkerError(this.closedWhy));
    const seq = this.seq++;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.socket.send(encode({ ...message, seq_number: seq }), { binary: true });
    });
  }

  /** Registers the listener, then sends start_command; rejects when the worker refuses to start it. */
  async startCommand(
    commandId: string,
    name: string,
    args: Message,
    listener: StockCommandListener,
  ): Promise<void> {
    this.commands.set(commandId, listener);
    try {
      await this.request({
        op: 'start_command',
        builder_name: 'bbs',
        command_id: commandId,
        command_name: name,
        args,
      });
    } catch (error) {
      this.commands.delete(commandId);
      throw error;
    }
  }

  interruptCommand(commandId: string, why: string): Promise<MsgpackValue> {
    return this.request({ op: 'interrupt_command', builder_name: 'bbs', command_id: commandId, why });
  }

  close(): void {
    this.socket.close();
  }

  private respond(seq: MsgpackValue | undefined, result: MsgpackValue, isException = false): void {
    if (this.closedWhy !== undefined) return;
    const answer: Message = { op: 'response', seq_number: seq ?? null, result };
    if (isException) answer.is_exception = true;
    this.socket.send(encode(answer), { binary: true });
  }

  private receive(data: Buffer): void {
    let message: Message;
    try {
      message = decode(data) as Message;
    } catch (error) {
      this.log(`buildbot-worker: dropped an undecodable message: ${(error as Error).message}`);
      return;
    }
    const { op, seq_number: seq } = message;
    if (op === 'response') {
      const waiter = this.waiting.get(seq as number);
      if (!waiter) return;
      this.waiting.delete(seq as number);
      if (message.is_exception) waiter.reject(new StockWorkerError(String(message.result)));
      else waiter.resolve(message.result ?? null);
      return;
    }
    const commandId = String(message.command_id);
    const listener = this.commands.get(commandId);
    switch (op) {
      case 'update':
        listener?.onUpdate((message.args ?? []) as [string, MsgpackValue][]);
        return this.respond(seq, null);
      case 'complete':
        this.commands.delete(commandId);
        listener?.onComplete(
          message.args === null || message.args === undefined ? null : String(message.args),
        );
        return this.respond(seq, null);
      case 'keepalive':
        return this.respond(seq, null);
      default:
        // The transfer ops (update_upload_file_write, update_read_file, ...) go to their command's transfer
        // (stockTransfers.ts); any other op, or one for a command without a transfer, answers with an
        // exception, never with empty bytes (3.7's own master answered update_read_file with None).
        if (typeof op === 'string' && op.startsWith('update_') && listener?.onTransfer) {
          listener.onTransfer(op, message).then(
            (result) => this.respond(seq, result),
            (error: Error) => this.respond(seq, error.message, true),
          );
          return;
        }
        return this.respond(seq, `${String(op)} is not served by this agent`, true);
    }
  }

  private closed(why: string): void {
    if (this.closedWhy !== undefined) return;
    this.closedWhy = why;
    for (const waiter of this.waiting.values()) waiter.reject(new StockWorkerError(why));
    this.waiting.clear();
    for (const listener of this.commands.values()) listener.onLost(why);
    this.commands.clear();
  }
}

/** The server: one port on 127.0.0.1; the latest authenticated, handshaken connection is `current`. */
export class MsgpackMaster {
  current: StockWorkerConnection | undefined;
  private readyWaiters: ((c: StockWorkerConnection) => void)[] = [];

  private constructor(
    private readonly server: WebSocketServer,
    private readonly opts: MsgpackMasterOptions,
  ) {
    server.on('connection', (socket) => void this.accept(socket));
  }

  static listen(opts: MsgpackMasterOptions): Promise<MsgpackMaster> {
    const expected = Buffer.from(
      `Basic ${Buffer.from(`${opts.workerName}:${opts.password}`).toString('base64')}`,
    );
    return new Promise((resolve, reject) => {
      const server = new WebSocketServer(
        {
          host: '127.0.0.1',
          port: 0,
          maxPayload: 64 * 1024 * 1024,
          verifyClient: ({ req }) => {
            const given = Buffer.from(req.headers.authorization ?? '');
            return given.length === expected.length && timingSafeEqual(given, expected);
          },
        },
        () => resolve(new MsgpackMaster(server, opts)),
      );
      server.on('error', reject);
    });
  }

  get port(): number {
    return this.server.address().port;
  }

  /** The ready connection, waiting up to `timeoutMs` for one. */
  async connection(timeoutMs: number): Promise<StockWorkerConnection> {
    if (this.current?.open) return this.current;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
        reject(new StockWorkerError(`buildbot-worker did not connect within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (c: StockWorkerConnection): void => {
        clearTimeout(timer);
        resolve(c);
      };
      this.readyWaiters.push(waiter);
    });
  }

  close(): Promise<void> {
    this.current?.close();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async accept(socket: WebSocket): Promise<void> {
    const connection = new StockWorkerConnection(socket, this.opts.log);
    try {
      await connection.request({ op: 'print', message: 'attached' });
      connection.info = (await connection.request({ op: 'get_worker_info' })) as Message;
      await connection.request({
        op: 'set_worker_settings',
        args: {
          // Buildbot's own line splitting (protocols/msgpack.py _set_worker_settings), our buffer time.
          newline_re: '(\\r\\n|\\r(?=.)|\\033\\[u|\\033\\[[0-9]+;[0-9]+[Hf]|\\033\\[2J|\\x08+)',
          max_line_length: 4096,
          buffer_timeout: this.opts.bufferTimeout,
          buffer_size: 64 * 1024,
        },
      });
    } catch (error) {
      this.opts.log(`buildbot-worker: handshake failed: ${(error as Error).message}`);
      socket.terminate();
      return;
    }
    if (this.current?.open) this.current.close();
    this.current = connection;
    this.opts.log(
      `buildbot-worker ${String(connection.info.version)} connected (basedir ${String(connection.info.basedir)})`,
    );
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const waiter of waiters) waiter(connection);
  }
}

/** The stock worker's connection for command `name`; none within CONNECT_WAIT_MS is the command's start_error. */
export async function stockConnection(master: MsgpackMaster, name: string): Promise<StockWorkerConnection> {
  return master.connection(CONNECT_WAIT_MS).catch((error: Error) => {
    throw new CommandStartError(`${name} could not start: ${error.message}`, { cause: error });
  });
}

/** An update's [text, newline_indexes, timestamps] (or a plain string) as its text. */
export function textOf(value: MsgpackValue | undefined): string {
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : '';
  return typeof value === 'string' ? value : '';
}
