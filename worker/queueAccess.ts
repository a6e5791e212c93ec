// Owns the agent's SQS client: made from the queue credentials its heartbeat vends, and refreshed before they end.
import { SQSClient } from '@aws-sdk/client-sqs';
import { sqsClient } from '../shared/aws/clients.ts';
import { isUnreachable } from '../shared/aws/errors.ts';
import type { WorkerHeartbeatResponse } from '../shared/commands/wire.ts';
import { WORKER_CREDENTIALS_REFRESH_MS } from '../shared/workers/credentials.ts';
import type { WorkerLogSink } from './log.ts';

/**
 * A build machine holds one secret, its bbs token (docs/security.md): the agent asks its heartbeat for
 * credentials scoped to its own queue, and asks again once they end within WORKER_CREDENTIALS_REFRESH_MS
 * (15 minutes of a 60-minute session), so a heartbeat that fails for a while costs nothing. The client reads
 * the newest credentials on each request (the SDK refreshes through the provider 5 minutes before expiry).
 *
 * Two other ways, kept for their users:
 *   - a client given in WorkerOptions.sqs (a test's, or a caller's own) is used as it is;
 *   - a service that vends nothing (an older deploy) leaves the agent on its environment's credentials, as before.
 * The credentials never reach a command: shell commands get a scrubbed environment (worker/commands/shellFormat.ts).
 */
interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export class QueueAccess {
  private credentials: SessionCredentials | undefined;
  private vended: SQSClient | undefined;
  /** Where the vended client sends: a heartbeat that names another endpoint or region gets a new client. */
  private vendedAt = '';
  /** The queue refused these credentials or its endpoint stopped answering: ask the next heartbeat again. */
  private stale = false;
  private fromEnvironment: SQSClient | undefined;

  constructor(
    private readonly given: SQSClient | undefined,
    private readonly log: WorkerLogSink,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the next heartbeat should ask for credentials. */
  get wanted(): boolean {
    if (this.given || this.fromEnvironment) return false;
    if (this.stale) return true;
    const expiration = this.credentials?.expiration;
    return expiration === undefined || expiration.getTime() - this.now() < WORKER_CREDENTIALS_REFRESH_MS;
  }

  /** Takes in a heartbeat's answer (to a heartbeat that asked, or not). */
  accept(answer: WorkerHeartbeatResponse, asked: boolean): void {
    const access = answer.queueAccess;
    if (!access) {
      if (asked && !this.credentials && !this.fromEnvironment) {
        this.log(
          'the API vends no queue credentials: using this environment’s AWS credentials for the queue',
        );
        this.fromEnvironment = sqsClient();
      }
      return;
    }
    const { accessKeyId, secretAccessKey, sessionToken, expiration } = access.credentials;
    this.credentials = { accessKeyId, secretAccessKey, sessionToken, expiration: new Date(expiration) };
    this.stale = false;
    const at = `${access.region} ${access.endpoint ?? ''}`;
    if (this.vended && at === this.vendedAt) return;
    // First credentials, or the service moved the queue's endpoint (a restarted local stack's gate).
    this.vended?.destroy();
    this.vendedAt = at;
    this.vended = new SQSClient({
      region: access.region,
      ...(access.endpoint ? { endpoint: access.endpoint } : {}),
      // The local stack's queue URLs name a host that does not resolve; on AWS both are the regional endpoint.
      useQueueUrlAsEndpoint: access.endpoint === undefined,
      maxAttempts: 5,
      credentials: async () => {
        if (!this.credentials) throw new Error('no queue credentials yet');
        return this.credentials;
      },
    });
  }

  /**
   * A queue call failed: when the endpoint did not answer or refused the credentials, the next heartbeat asks
   * for fresh queue access (and may name a new endpoint). Answers whether it will.
   */
  noteFailure(error: unknown): boolean {
    if (!this.vended || !isAccessFailure(error)) return false;
    this.stale = true;
    return true;
  }

  /** The client to use now. Throws before the first heartbeat has answered. */
  get client(): SQSClient {
    const client = this.given ?? this.vended ?? this.fromEnvironment;
    if (!client) throw new Error('the queue is not reachable before the first heartbeat');
    return client;
  }

  /** Closes the client this made (not one it was given). */
  close(): void {
    this.vended?.destroy();
  }
}

/** Errors after which the same credentials at the same endpoint cannot work: ask the heartbeat again. */
const ACCESS_FAILURES = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'AccessDenied',
  'AccessDeniedException',
  'SignatureDoesNotMatch',
]);
function isAccessFailure(error: unknown): boolean {
  return ACCESS_FAILURES.has((error as { name?: string }).name ?? '') || isUnreachable(error);
}
