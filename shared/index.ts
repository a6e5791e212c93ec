/** The library's public entry point (docs/architecture.md, Modules). Each part lists its names explicitly. */
export { StateConnector } from './state/StateConnector.ts';
export { DEFAULT_LEASE_MS, WAIT_LEASES } from './state/lease.ts';
export {
  StateNotFoundError,
  StateEncodingError,
  StateValueTooLargeError,
  StateNameTooLongError,
  LeaseLostError,
  LeaseWaitTimeoutError,
} from './state/errors.ts';
export * as LIMITS from './limits.ts';
export type {
  AtomicCreateOptions,
  CreateOutcome,
  StateConnectorOptions,
  TimingHook,
  TimingHookPoint,
  UpdateOutcome,
} from './state/types.ts';
export { RESULTS, RESULT_NAMES, COMMAND_STATUS, FAILURE_KINDS, DEFAULT_TIMEOUTS } from './commands/types.ts';
export type { Results, CommandStatus, FailureKind, CommandFailure } from './commands/types.ts';
export type {
  ClaimResponse,
  CommandView,
  CompletionEvent,
  UpdatesResponse,
  WorkerMessage,
  WorkerHeartbeatResponse,
} from './commands/wire.ts';
export { LOG_HEADERS } from './commands/wire.ts';
export { computeResults, DEFAULT_DECODE_RC } from './commands/results.ts';
export { HEARTBEAT_INTERVAL_MS, OFFLINE_AFTER_MS } from './workers/types.ts';
export type { WorkerView, RegisteredWorker } from './workers/types.ts';
export { CommandsClient } from './client/CommandsClient.ts';
export { ApiError, ApiUnreachableError } from './client/errors.ts';
export { BuildbotError } from './errors.ts';
export type { ErrorBody } from './errors.ts';
export { RemoteCommand } from './client/RemoteCommand.ts';
export type { RemoteCommandOptions, RunOptions } from './client/RemoteCommand.ts';
export { StreamLog } from './client/logs.ts';
export type { LogStream, LogSubscriber, StreamLogOptions } from './client/logs.ts';
export {
  BufferLogObserver,
  LineConsumerLogObserver,
  LogLineObserver,
  LogObserver,
  OutputProgressObserver,
} from './client/logObservers.ts';
export type { LineConsumer } from './client/logObservers.ts';
export { LineSplitter } from './client/logLines.ts';
export { RemoteCommandFailedError, RemoteCommandStateError } from './client/errors.ts';
export { Backoff, DEFAULT_POLL } from './retry.ts';
export type { PollOptions } from './retry.ts';
export type {
  CommandList,
  CommandsClientOptions,
  FollowOptions,
  FollowUpdatesOptions,
  InterruptResponse,
  ListCommandsFilter,
  LogPage,
  LogPageBytes,
  SequencedUpdate,
  StartCommandResponse,
  UpdatesPage,
} from './client/types.ts';
