// Owns the local stand-in for IAM: STS AssumeRole vending session credentials, and a gate before fauxqs holding them to their policy.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOCAL_ACCOUNT_ID } from './serverless/intrinsics.ts';

/**
 * On AWS a heartbeat assumes the worker-queue role with a session policy naming one queue, and IAM holds the
 * session to it. Locally neither STS nor IAM exists, and fauxqs accepts any signature. This one loopback
 * server stands in for both, so the worker and the heartbeat run the same code as on AWS and the stack
 * refuses what AWS would:
 *   - POST / with `Action=AssumeRole` (the STS query protocol) issues credentials for the stack's role, for
 *     DurationSeconds (900 to 3600), and remembers their session policy;
 *   - every other request is SQS, passed on to fauxqs. A request signed with vended credentials passes only
 *     when its session token matches, it has not expired, and its session policy allows the action on the
 *     queue it names (403 AccessDenied, or 400 ExpiredToken, as SQS answers). Requests signed otherwise (the
 *     stack's own clients) pass unchecked.
 * What it does not do: verify SigV4 signatures (the access key is read from the Authorization header), or
 * evaluate IAM beyond Allow statements of actions and resources with `*` wildcards.
 */
export interface LocalIam {
  /** The endpoint for STS (AWS_ENDPOINT_URL_STS) and for workers' SQS calls (WORKER_SQS_ENDPOINT). */
  readonly url: string;
  /** Sessions issued so far (a test reads their policies). */
  readonly issued: number;
  close(): Promise<void>;
}

interface Session {
  secretAccessKey: string;
  sessionToken: string;
  expiresAt: number;
  statements: { actions: string[]; resources: string[] }[];
}

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function stsError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'text/xml' });
  res.end(
    `<ErrorResponse xmlns="${STS_NS}"><Error><Type>Sender</Type><Code>${code}</Code>` +
      `<Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

function sqsError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-query-error': `${code};Sender`,
  });
  res.end(JSON.stringify({ __type: `com.amazon.coral.service#${code}`, message }));
}

function asList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** The Allow statements of a session policy, or a reason it is not one. */
function parsePolicy(text: string): Session['statements'] | string {
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch {
    return 'Policy is not JSON';
  }
  const statements = (policy as { Statement?: unknown }).Statement;
  if (!Array.isArray(statements)) return 'Policy has no Statement list';
  return statements
    .filter((s: { Effect?: unknown }) => s.Effect === 'Allow')
    .map((s: { Action?: unknown; Resource?: unknown }) => ({
      actions: asList(s.Action),
      resources: asList(s.Resource),
    }));
}

function matches(pattern: string, value: string): boolean {
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : pattern === value;
}

export async function startLocalIam(opts: {
  /** The only role that may be assumed (the stack's WorkerQueueRole ARN). */
  roleArn: string;
  region: string;
  /** fauxqs, where allowed SQS requests go. */
  sqsPort: number;
}): Promise<LocalIam> {
  const sessions = new Map<string, Session>();

  function assumeRole(res: ServerResponse, form: URLSearchParams): void {
    if (form.get('RoleArn') !== opts.roleArn)
      return stsError(
        res,
        403,
        'AccessDenied',
        `not authorized to assume ${form.get('RoleArn') ?? '(none)'}`,
      );
    const seconds = Number(form.get('DurationSeconds') ?? 3600);
    if (!Number.isInteger(seconds) || seconds < 900 || seconds > 3600)
      return stsError(res, 400, 'ValidationError', 'DurationSeconds must be 900 to 3600 (role chaining)');
    const sessionName = form.get('RoleSessionName') ?? '';
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName))
      return stsError(res, 400, 'ValidationError', 'RoleSessionName must be 2 to 64 of [\\w+=,.@-]');
    // Without a session policy the credentials would hold the whole role: the stack never asks for that.
    const statements = parsePolicy(form.get('Policy') ?? '');
    if (typeof statements === 'string') return stsError(res, 400, 'MalformedPolicyDocument', statements);
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const session: Session = {
      secretAccessKey: randomBytes(30).toString('base64url'),
      sessionToken: randomBytes(48).toString('base64url'),
      expiresAt: Date.now() + seconds * 1000,
      statements,
    };
    sessions.set(accessKeyId, session);
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<AssumeRoleResponse xmlns="${STS_NS}"><AssumeRoleResult><Credentials>` +
        `<AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${session.secretAccessKey}</SecretAccessKey>` +
        `<SessionToken>${session.sessionToken}</SessionToken>` +
        `<Expiration>${new Date(session.expiresAt).toISOString()}</Expiration></Credentials>` +
        `<AssumedRoleUser><AssumedRoleId>AROALOCAL:${sessionName}</AssumedRoleId>` +
        `<Arn>${xmlEscape(`${opts.roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/${sessionName}`)}</Arn>` +
        `</AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId>` +
        `</ResponseMetadata></AssumeRoleResponse>`,
    );
  }

  /** Why a vended session may not make this SQS request, or undefined when it may. */
  function refusal(
    session: Session,
    req: IncomingMessage,
    body: Buffer,
  ): [number, string, string] | undefined {
    if (req.headers['x-amz-security-token'] !== session.sessionToken)
      return [403, 'InvalidClientTokenId', 'the security token included in the request is invalid'];
    if (Date.now() >= session.expiresAt)
      return [400, 'ExpiredToken', 'the security token included in the request is expired'];
    const target = String(req.headers['x-amz-target'] ?? '');
    if (!target.startsWith('AmazonSQS.'))
      return [400, 'InvalidAction', 'the local gate reads the SQS JSON protocol only'];
    // A batch call is authorized by its single action (SQS has no permission of its own for batches).
    const action = `sqs:${target.slice('AmazonSQS.'.length).replace(/Batch$/, '')}`;
    let queueUrl: string;
    try {
      queueUrl = String((JSON.parse(body.toString('utf8')) as { QueueUrl?: unknown }).QueueUrl ?? '');
    } catch {
      return [400, 'InvalidParameterValue', 'the request body is not JSON'];
    }
    const queueName = queueUrl.split('/').pop() ?? '';
    const arn = `arn:aws:sqs:${opts.region}:${LOCAL_ACCOUNT_ID}:${queueName}`;
    const allowed = session.statements.some(
      (s) => s.actions.some((a) => matches(a, action)) && s.resources.some((r) => matches(r, arn)),
    );
    return allowed ? undefined : [403, 'AccessDenied', `not authorized to perform ${action} on ${arn}`];
  }

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const upstream = request(
      { host: '127.0.0.1', port: opts.sqsPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) sqsError(res, 503, 'ServiceUnavailable', `fauxqs: ${error.message}`);
      else res.destroy(error);
    });
    // A client that gives up on a long poll ends the upstream request too.
    res.on('close', () => upstream.destroy());
    upstream.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const type = String(req.headers['content-type'] ?? '');
    if (type.startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(body.toString('utf8'));
      if (form.get('Action') === 'AssumeRole') return assumeRole(res, form);
      return stsError(res, 400, 'InvalidAction', `the local STS answers AssumeRole only`);
    }
    const accessKeyId = /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    const session = sessions.get(accessKeyId);
    const refused = session ? refusal(session, req, body) : undefined;
    if (refused) return sqsError(res, ...refused);
    forward(req, res, body);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) sqsError(res, 500, 'InternalFailure', error.message);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get issued() {
      return sessions.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
