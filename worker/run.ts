// Runs one claimed command: starts it from the registry, streams its updates, and completes it with its failure.
import type { ApiConnection } from '../shared/client/http.ts';
import { interpolateSecrets } from '../shared/commands/secrets.ts';
import type { ClaimResponse, CommandUpdate, CompleteRequest } from '../shared/commands/wire.ts';
import type { CommandRegistry } from './commands/registry.ts';
import type { StartedCommand } from './commands/types.ts';
import { CommandLostError, CommandStartError } from './errors.ts';
import type { WorkerLogSink } from './log.ts';
import { SecretMasker } from './secretMasker.ts';
import { UpdateSender } from './updateSender.ts';

export interface CommandRunOptions {
  connection: ApiConnection;
  registry: CommandRegistry;
  basedir: string;
  bufferBytes: number;
  bufferMs: number;
  /** How often a quiet command sends a heartbeat, in ms. */
  heartbeatMs: number;
  log: WorkerLogSink;
  /** The values of the command's secrets, from its queue message: filled into its args, masked in its output. */
  secrets?: Readonly<Record<string, string>>;
}

/** execute()'s answer when the command's process died under it (CommandLostError). */
const LOST = Symbol('lost');

export class CommandRun {
  readonly commandId: string;
  /** The command's update sender; the worker shortens its heartbeat while draining. */
  readonly sender: UpdateSender;
  private started: StartedCommand | undefined;
  private interruptedWhy: string | undefined;
  private rc: number | undefined;
  private readonly masker: SecretMasker;

  constructor(
    private readonly claim: ClaimResponse,
    private readonly opts: Readonly<CommandRunOptions>,
  ) {
    this.commandId = claim.commandId;
    this.masker = new SecretMasker(opts.secrets ?? {});
    this.sender = new UpdateSender({
      connection: opts.connection,
      commandId: claim.commandId,
      bufferBytes: opts.bufferBytes,
      bufferMs: opts.bufferMs,
      heartbeatMs: opts.heartbeatMs,
      giveUpMs: claim.heartbeatTimeout * 1000,
      onInterrupt: (why) => this.interrupt(why),
      log: opts.log,
    });
  }

  /** Stops the command (interruptSignal, then SIGKILL); an interrupt before it started reaches it once it has. */
  interrupt(why: string): void {
    if (this.interruptedWhy !== undefined) return;
    this.interruptedWhy = why;
    this.opts.log(`command ${this.commandId}: interrupted (${why})`);
    this.started?.interrupt(why);
  }

  /** Runs the command to its end and completes it; never rejects (a complete that fails is logged). */
  async run(): Promise<void> {
    const { commandId, command } = this.claim;
    const { log } = this.opts;
    const startedAt = performance.now();
    log(`command ${commandId}: ${command} started`);
    const unmasked = await this.execute();
    if (unmasked === LOST) {
      // No complete and no more heartbeats: the watchdog ends the command as worker_lost after its heartbeat timeout.
      this.sender.abandon();
      log(`command ${commandId}: ${command} lost: left to the watchdog (worker_lost)`);
      return;
    }
    const failure = unmasked && { ...unmasked, message: this.masker.maskText(unmasked.message) };
    const elapsed = (performance.now() - startedAt) / 1000;
    for (const update of this.masker.mask({ elapsed })) this.sender.push(update);
    try {
      await this.sender.finish(failure);
    } catch (error) {
      log(`command ${commandId}: could not complete: ${(error as Error).message}`);
    }
    const outcome = failure ? `${failure.kind}: ${failure.message}` : `rc=${this.rc ?? 'none'}`;
    log(`command ${commandId}: ${command} finished ${outcome} elapsed=${elapsed.toFixed(3)}s`);
  }

  /** Starts the command and waits for it; the failure to complete with, if any. */
  private async execute(): Promise<CompleteRequest['failure'] | typeof LOST> {
    const { commandId, command } = this.claim;
    const send = (update: CommandUpdate): void => {
      if (update.rc !== undefined) this.rc = update.rc;
      for (const masked of this.masker.mask(update)) this.sender.push(masked);
    };
    try {
      const args = interpolateSecrets(this.claim.args, this.opts.secrets ?? {});
      const definition = this.opts.registry.get(command);
      if (!definition) throw new CommandStartError(`unrecognized WorkerCommand '${command}'`);
      this.started = await definition.start({
        commandId,
        args,
        basedir: this.opts.basedir,
        send,
        backlogged: () => this.sender.backlogged(),
        log: this.opts.log,
        connection: this.opts.connection,
      });
      // An interrupt that came while the command was starting.
      if (this.interruptedWhy !== undefined) this.started.interrupt(this.interruptedWhy);
      try {
        await this.started.done;
      } catch (error) {
        if (error instanceof CommandLostError) return LOST;
        return {
          kind: 'finish_error',
          message: `${command} failed while finishing: ${(error as Error).message}`,
        };
      }
    } catch (error) {
      // Any throw before the command is under way (bad args, no such executable, unwritable workdir).
      const message =
        error instanceof CommandStartError
          ? error.message
          : `${command} could not start: ${(error as Error).message}`;
      return { kind: 'start_error', message };
    }
    return undefined;
  }
}
