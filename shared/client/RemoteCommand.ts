// Owns Buildbot's RemoteCommand over the HTTP API: run(), remoteUpdate(), remoteComplete(), interrupt(), its logs.
import { RESULTS } from '../commands/types.ts';
import type { CommandFailure, Results } from '../commands/types.ts';
import { computeResults, DEFAULT_DECODE_RC } from '../commands/results.ts';
import type { CommandUpdate, CommandView, StartCommandRequest } from '../commands/wire.ts';
import type { CommandsClient } from './CommandsClient.ts';
import { RemoteCommandFailedError, RemoteCommandStateError } from './errors.ts';
import { StreamLog } from './logs.ts';
import type { LogSubscriber } from './logs.ts';
import type { StatusFrame } from '../push/wire.ts';

export interface RemoteCommandOptions {
  /** How an rc maps to results. @default { 0: SUCCESS } (Buildbot's) */
  decodeRC?: Record<number, Results>;
  /** Seconds to wait for the worker's claim and between its heartbeats. @default server's DEFAULT_TIMEOUTS */
  timeouts?: StartCommandRequest['timeouts'];
  /** Starting twice with the same key gives the same command (safe retries of run()). */
  idempotencyKey?: string;
  /** Keep the command's stdout in `.stdout`, as the seed's collectStdout. @default false */
  collectStdout?: boolean;
  /** Keep the command's stderr in `.stderr`, as the seed's collectStderr. @default false */
  collectStderr?: boolean;
  /** Do not call remoteUpdate() at all (the seed's ignore_updates). @default false */
  ignoreUpdates?: boolean;
  /**
   * The attached log that stdout, stderr and header updates go to, as Buildbot's stdioLogName; null sends
   * them to no log. `{log: [name, text]}` updates go to the log attached under `name`. @default 'stdio'
   */
  stdioLogName?: string | null;
}

export interface RunOptions {
  /** Stops following (run() rejects with the signal's reason); it does not interrupt the remote command. */
  signal?: AbortSignal;
}

/**
 * Buildbot's RemoteCommand (buildbot/process/remotecommand.py) over the HTTP API: "a single command to be
 * run on the worker". run() starts it, feeds each stored update to remoteUpdate() in seq order, and calls
 * remoteComplete() once at the end. A subclass overrides start(), remoteUpdate() and remoteComplete() as in
 * the seed. The command itself is a record on the server, so a crashed client loses nothing: another one
 * can follow the same commandId.
 */
export class RemoteCommand {
  readonly remoteCommand: string;
  readonly args: Record<string, unknown>;
  readonly decodeRC: Record<number, Results>;
  readonly options: RemoteCommandOptions;

  /** True from run() until the end is seen (the seed's `active`). */
  active = false;
  /** True once interrupt() was sent or the server recorded an interruption. */
  interrupted = false;
  /** Set by commandId once start() has created the command. */
  commandId: string | undefined;
  /** The exit code, from the `rc` update (or the final record). */
  rc: number | undefined;
  /** The recorded failure, interruption included (`{kind: 'interrupted'}`); undefined when there was none. */
  failure: CommandFailure | undefined;
  /** Every value of every update key that is not stdout, stderr, header, rc or failure_reason, in order (the seed's `updates`). */
  readonly updates: Record<string, unknown[]> = {};
  /** Collected output when collectStdout / collectStderr are set. */
  stdout = '';
  stderr = '';
  /** The worker's own measure of the command's run time, in seconds (the `elapsed` update). */
  remoteElapsed: number | undefined;
  /** The worker's reason for an abnormal end, such as `timeout` (the `failure_reason` update). */
  remoteFailureReason: string | undefined;
  /** The command record as it was when the end was seen. */
  view: CommandView | undefined;
  /**
   * The logs attached with useLog() or addLogObserver(), by name (Buildbot's `logs`). Empty unless asked:
   * nothing is accumulated for a log nobody attached, and an attached log keeps text only when made with `keep`.
   */
  readonly logs = new Map<string, StreamLog>();
  /** The stdout/stderr/header log's name (options.stdioLogName). */
  readonly stdioLogName: string | null;

  protected api: CommandsClient | undefined;
  protected worker: string | undefined;
  private starting: Promise<void> | undefined;
  private readonly closeWhenFinished = new Set<string>();

  constructor(remoteCommand: string, args: Record<string, unknown>, options: RemoteCommandOptions = {}) {
    this.remoteCommand = remoteCommand;
    this.args = args;
    this.options = options;
    this.decodeRC = options.decodeRC ?? { ...DEFAULT_DECODE_RC };
    this.stdioLogName = options.stdioLogName === undefined ? 'stdio' : options.stdioLogName;
  }

  /**
   * Buildbot's useLog: updates for `logfileName` go to `log` from now on (stdout, stderr and header when it is
   * stdioLogName, `{log: [name, text]}` updates otherwise). With `closeWhenFinished`, the log is finished when
   * the command ends, so its line observers get their last line. A name can be attached once.
   */
  useLog(log: StreamLog, closeWhenFinished = false, logfileName: string = log.name): void {
    if (this.logs.has(logfileName))
      throw new RemoteCommandStateError(`${this.describe()} already has a log named '${logfileName}'`);
    this.logs.set(logfileName, log);
    if (closeWhenFinished) this.closeWhenFinished.add(logfileName);
  }

  /**
   * Buildbot's BuildStep.addLogObserver, on the command: `observer` sees the log named `logName`. When no log
   * of that name is attached yet, one is made (keeping no text) and attached with closeWhenFinished.
   */
  addLogObserver(logName: string, observer: LogSubscriber): void {
    let log = this.logs.get(logName);
    if (log === undefined) {
      log = new StreamLog(logName);
      this.useLog(log, true);
    }
    log.subscribe(observer);
  }

  /**
   * Starts the command on `worker` and resolves with this command once it is complete and every update has
   * gone through remoteUpdate(). Rejects with RemoteCommandFailedError when remoteComplete() propagates a
   * failure, with ApiError when the API refuses the start (an unknown worker or command: nothing was
   * created), and with whatever remoteUpdate() throws (following stops; the remote command keeps running,
   * as a step's does in the seed when its update handler fails).
   */
  async run(api: CommandsClient, worker: string, opts: RunOptions = {}): Promise<this> {
    if (this.active) throw new RemoteCommandStateError(`${this.describe()} is already running`);
    this.active = true;
    this.api = api;
    this.worker = worker;
    try {
      this.starting = this.start();
      await this.starting;
      const commandId = this.requireCommandId();
      let pushed: StatusFrame | undefined;
      const onComplete = (frame: StatusFrame) => (pushed = frame);
      for await (const [update, seq] of api.followUpdates(commandId, { signal: opts.signal, onComplete })) {
        if (!this.options.ignoreUpdates) await this.remoteUpdate(update, seq);
      }
      // A pushed completion carries what the end needs: no read of the record (it is on the path the caller waits).
      this.view = pushed ? this.viewOfCompletion(pushed) : await api.getCommand(commandId);
    } catch (error) {
      this.active = false;
      throw error;
    }
    return this.finished(this.view);
  }

  /** Creates the command (POST /v1/commands) and sets commandId. A subclass may adjust args first. */
  protected async start(): Promise<void> {
    const { commandId } = await this.requireApi().startCommand({
      worker: this.requireWorker(),
      command: this.remoteCommand,
      args: this.args,
      decodeRC: this.decodeRC,
      ...(this.options.timeouts ? { timeouts: this.options.timeouts } : {}),
      ...(this.options.idempotencyKey ? { idempotencyKey: this.options.idempotencyKey } : {}),
    });
    this.commandId = commandId;
  }

  /**
   * One stored update, in seq order, each exactly once. The seed's bookkeeping: rc, elapsed and
   * failure_reason are kept in their fields, collected output in stdout/stderr, and every other key's
   * values in `updates`. Output goes to the attached logs, as Buildbot's remoteUpdate adds it: a subclass
   * that overrides this calls super.remoteUpdate() to keep its logs and observers fed.
   */
  async remoteUpdate(update: CommandUpdate, _seq: number): Promise<void> {
    for (const [key, value] of Object.entries(update) as [keyof CommandUpdate, unknown][]) {
      if (value === undefined) continue;
      this.addToLogs(key, value);
      if (key === 'stdout' && this.options.collectStdout) this.stdout += value as string;
      else if (key === 'stderr' && this.options.collectStderr) this.stderr += value as string;
      else if (key === 'rc') this.rc = value as number;
      else if (key === 'elapsed') this.remoteElapsed = value as number;
      else if (key === 'failure_reason') this.remoteFailureReason = value as string;
      if (
        key !== 'stdout' &&
        key !== 'stderr' &&
        key !== 'header' &&
        key !== 'rc' &&
        key !== 'failure_reason'
      )
        (this.updates[key] ??= []).push(value);
    }
  }

  /**
   * Called once at the end with the command's failure, or undefined when it ran to an rc (or was
   * interrupted: that is CANCELLED, not a failure, as in the seed). Return the failure to propagate it
   * (run() rejects with RemoteCommandFailedError) or undefined to consume it (run() resolves).
   */
  async remoteComplete(failure: CommandFailure | undefined): Promise<CommandFailure | undefined> {
    return failure;
  }

  /** Buildbot's results: the server's, once the command is complete; until then computed as it will be. */
  results(): Results {
    if (this.view?.results !== undefined) return this.view.results;
    return computeResults({
      interrupted: this.interrupted,
      rc: this.rc,
      decodeRC: this.decodeRC,
      failure: this.failure,
    });
  }

  /** As in the seed: true when results() is FAILURE (not EXCEPTION, RETRY or CANCELLED). */
  didFail(): boolean {
    return this.results() === RESULTS.FAILURE;
  }

  /**
   * Asks the server to interrupt the command (a queued one ends at once, a running one is stopped by its
   * worker). As in the seed it does nothing when the command is not active or was already interrupted.
   * Called during start(), it waits for the command to exist.
   */
  async interrupt(why: string): Promise<void> {
    // Not running, or already asked: the seed logs " but this RemoteCommand is already inactive" and returns.
    if (!this.active || this.interrupted) return;
    // Flag first, so that a second call made while this one waits for start() returns at once.
    this.interrupted = true;
    await this.starting;
    await this.requireApi().interrupt(this.requireCommandId(), why);
  }

  /** stdout, stderr and header to the stdio log; a log file's text to its own log; nothing unattached. */
  private addToLogs(key: keyof CommandUpdate, value: unknown): void {
    const stdio = this.stdioLogName === null ? undefined : this.logs.get(this.stdioLogName);
    if (key === 'stdout') stdio?.addStdout(value as string);
    else if (key === 'stderr') stdio?.addStderr(value as string);
    else if (key === 'header') stdio?.addHeader(value as string);
    else if (key === 'log') {
      const [name, text] = value as [string, string];
      this.logs.get(name)?.addStdout(text);
    }
  }

  private async finished(view: CommandView): Promise<this> {
    // The final record is the truth: an rc the updates did not carry, and whether the interrupt landed
    // before the command ended (then results are CANCELLED) or after (then they are the rc's).
    this.rc ??= view.rc;
    this.failure = view.failure;
    this.interrupted = view.results === RESULTS.CANCELLED;
    this.active = false;
    const failure = this.failure?.kind === 'interrupted' ? undefined : this.failure;
    // As Buildbot's remoteComplete: close the logs asked for (line observers get their last line), a failure
    // noted in each first. Before remoteComplete(), so an override reads observers that have seen everything.
    for (const name of this.closeWhenFinished) {
      const log = this.logs.get(name);
      if (log === undefined || log.finished) continue;
      if (failure) log.addHeader(`\nremoteFailed: ${failure.kind}: ${failure.message}\n`);
      log.finish();
    }
    const propagated = await this.remoteComplete(failure);
    if (propagated) throw new RemoteCommandFailedError(view.commandId, propagated);
    return this;
  }

  /** The record as a pushed completion tells it; args and decodeRC are this command's own. */
  private viewOfCompletion(frame: StatusFrame): CommandView {
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    const view: CommandView = {
      commandId: frame.commandId,
      worker: frame.worker,
      command: frame.command,
      args: this.args,
      status: frame.status,
      decodeRC: this.decodeRC,
      createdAt: iso(frame.createdAt) ?? new Date().toISOString(),
      acked: frame.acked,
    };
    if (frame.startedAt !== undefined) view.startedAt = iso(frame.startedAt);
    if (frame.completedAt !== undefined) view.completedAt = iso(frame.completedAt);
    if (frame.rc !== undefined && frame.rc !== null) view.rc = frame.rc;
    if (frame.results !== undefined) view.results = frame.results;
    if (frame.failure) view.failure = frame.failure;
    if (frame.interrupted) view.interrupted = { why: frame.interrupted.why, at: iso(frame.interrupted.at)! };
    if (this.remoteElapsed !== undefined) view.elapsed = this.remoteElapsed;
    if (this.remoteFailureReason !== undefined) view.failure_reason = this.remoteFailureReason;
    return view;
  }

  private describe(): string {
    return `RemoteCommand '${this.remoteCommand}'${this.commandId ? ` ${this.commandId}` : ''}`;
  }

  private requireApi(): CommandsClient {
    if (!this.api)
      throw new RemoteCommandStateError(`${this.describe()} has not been run: call run(api, worker)`);
    return this.api;
  }

  private requireWorker(): string {
    if (!this.worker)
      throw new RemoteCommandStateError(`${this.describe()} has not been run: call run(api, worker)`);
    return this.worker;
  }

  private requireCommandId(): string {
    if (!this.commandId)
      throw new RemoteCommandStateError(`${this.describe()} has no commandId: start() did not set it`);
    return this.commandId;
  }
}
