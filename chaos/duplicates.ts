// Duplicate SQS deliveries: copies of a command's queue message, sent to its worker's queue as SQS may redeliver one.
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import * as ENV from '../shared/config.ts';
import type { WorkerMessage } from '../shared/commands/wire.ts';
import { commandArgs } from './load.ts';
import type { CommandShape, Submission } from './load.ts';

/**
 * SQS is at-least-once: a message can come twice (a redelivery after its visibility timeout, or two copies). The
 * stack's workers reach their queues through the stack's credential gate, not through the fault proxy, so the
 * suite makes the duplicates itself: the same message the API sent, once more, straight into the queue. Whichever
 * copy a worker claims second must be refused (409) and never run.
 */
export class Duplicator {
  private readonly sqs: SQSClient;
  sent = 0;

  constructor(
    env: Record<string, string>,
    private readonly queueUrls: Map<string, string>,
    private readonly shape: CommandShape,
  ) {
    this.sqs = new SQSClient({
      endpoint: env[ENV.awsEndpointUrlSqs],
      region: env[ENV.awsRegion],
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }

  /** Sends one copy of the submission's queue message; a failure (the emulator restarting) is only counted out. */
  async send(submission: Submission): Promise<void> {
    const queueUrl = this.queueUrls.get(submission.worker);
    if (!queueUrl || submission.commandId === undefined) return;
    const message: WorkerMessage = {
      type: 'command',
      commandId: submission.commandId,
      command: 'shell',
      args: commandArgs(submission.key, this.shape),
      heartbeatTimeout: this.shape.timeouts.heartbeat,
    };
    try {
      await this.sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }),
      );
      this.sent++;
    } catch {
      // Not sent: one duplicate fewer.
    }
  }

  close(): void {
    this.sqs.destroy();
  }
}
