// Owns the SQS refusals AWS makes and fauxqs 1.9.2 does not: QueueDeletedRecently, a hook on fauxqs' own app.
import type { buildApp } from 'fauxqs';

type FauxqsApp = ReturnType<typeof buildApp>;

/**
 * SQS refuses CreateQueue for a name whose queue was deleted less than 60 s ago ("You must wait 60 seconds after
 * deleting a queue before you can create another with the same name"): QueueDeletedRecently, 400. fauxqs creates
 * it again at once, so a test never saw that DELETE /v1/workers/{name} followed by POST /v1/workers with the same
 * name answered 500 on AWS. @default 60 s
 */
export const QUEUE_NAME_REUSE_MS = 60_000;

export interface QueueLimitsOptions {
  /** @default QUEUE_NAME_REUSE_MS */
  reuseMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** The JSON-protocol SQS action of a request to fauxqs (`X-Amz-Target: AmazonSQS.CreateQueue`), else undefined. */
function actionOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const target = headers['x-amz-target'];
  return typeof target === 'string' && target.startsWith('AmazonSQS.')
    ? target.slice('AmazonSQS.'.length)
    : undefined;
}

function field(body: unknown, name: string): string | undefined {
  const value =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Adds QueueDeletedRecently to a fauxqs app before it listens: a DeleteQueue that succeeds notes the queue's
 * name and time (in this process: an emulator restarted forgets them, as its queues); a CreateQueue of that
 * name within `reuseMs` answers as SQS does, with the error's type and its query-compatible code, which the
 * SDK raises as `QueueDeletedRecently`.
 */
export function modelQueueDeletedRecently(app: FauxqsApp, opts: QueueLimitsOptions = {}): void {
  const reuseMs = opts.reuseMs ?? QUEUE_NAME_REUSE_MS;
  const now = opts.now ?? Date.now;
  const deletedAt = new Map<string, number>();

  app.addHook('preHandler', async (request, reply) => {
    if (actionOf(request.headers) !== 'CreateQueue') return;
    const name = field(request.body, 'QueueName');
    const at = name === undefined ? undefined : deletedAt.get(name);
    if (name === undefined || at === undefined) return;
    if (now() - at >= reuseMs) {
      deletedAt.delete(name);
      return;
    }
    reply
      .status(400)
      .header('content-type', 'application/x-amz-json-1.0')
      .header('x-amzn-query-error', 'AWS.SimpleQueueService.QueueDeletedRecently;Sender');
    await reply.send({
      __type: 'com.amazonaws.sqs#QueueDeletedRecently',
      message:
        'You must wait 60 seconds after deleting a queue before you can create another with the same name.',
    });
    return reply;
  });

  app.addHook('onResponse', async (request, reply) => {
    if (actionOf(request.headers) !== 'DeleteQueue' || reply.statusCode !== 200) return;
    const url = field(request.body, 'QueueUrl');
    const name = url?.split('/').pop();
    if (name) deletedAt.set(name, now());
  });
}
