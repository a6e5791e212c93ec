// The rows of docs/limits.md: what each limit of shared/limits.ts bounds, what a request past it gets, and why.
import type * as LIMITS from '../shared/limits.ts';

type Limits = typeof LIMITS;

export interface Row {
  what: string;
  limit: string;
  answer: string;
  why: string;
}

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** 1 MiB, 64 KiB, 380 KB, or the exact count of bytes: the unit the value was written in. */
export function bytes(n: number): string {
  if (n % MiB === 0) return `${count(n / MiB)} MiB`;
  if (n % KiB === 0) return `${count(n / KiB)} KiB`;
  if (n % 1000 === 0) return `${count(n / 1000)} KB`;
  return `${count(n)} bytes`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Characters, in Ki when a whole number of them (64 Ki), else as counted. */
export function chars(n: number): string {
  return n % KiB === 0 && n >= KiB ? `${count(n / KiB)} Ki` : count(n);
}

/** 60 s, 1 day, 30 days. */
export function duration(seconds: number): string {
  const day = 24 * 3600;
  if (seconds % day === 0) return seconds === day ? '1 day' : `${count(seconds / day)} days`;
  return `${count(seconds)} s`;
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 100)} %`;
}

/** The longest command record the edge lets in (the sum the record's row gives); the rest is ids, times, the final run. */
const RECORD_REST_BYTES = 8 * KiB;
/** decodeRC: a key of at most 11 characters and its value, with JSON's quotes. */
const DECODE_RC_ENTRY_BYTES = 13;
/** A character of text is at most 4 bytes of UTF-8. */
const UTF8_MAX = 4;

function recordRow(l: Limits): Row {
  const parts = {
    args: l.argsBytes,
    decodeRC: l.decodeRCKeys * DECODE_RC_ENTRY_BYTES,
    logNames: l.logNamesPerCommand * l.logNameLength * UTF8_MAX,
    text: (l.failureMessageLength + l.interruptWhyLength) * UTF8_MAX,
  };
  const total = Object.values(parts).reduce((sum, part) => sum + part, RECORD_REST_BYTES);
  const kib = (n: number) => `${Math.round(n / KiB)} KiB`;
  return {
    what: 'the command record, from all of the above',
    limit:
      `about ${Math.round(total / KiB / 10) * 10} KiB at most (args ${kib(parts.args)}, decodeRC ${kib(parts.decodeRC)}, ` +
      `log names ${kib(parts.logNames)}, the failure's and the interrupt's text ${kib(parts.text)}, the rest ${kib(RECORD_REST_BYTES)})`,
    answer: '',
    why: "far below DynamoDB's 400 KB item limit, so every ending write fits: no request can make a command unendable",
  };
}

/** What each limit bounds, in the order a request meets them. Every key of LIMITS appears in at least one row. */
export function rows(l: Limits): Row[] {
  return [
    {
      what: 'request body of a client or admin route, after decompression (gzip or br)',
      limit: bytes(l.clientBodyBytes),
      answer: '413',
      why: 'one Lambda payload, with room to spare',
    },
    {
      what: 'request body of a worker route (`updates`, `complete`, heartbeat, claim), after decompression',
      limit: bytes(l.workerBodyBytes),
      answer: '413',
      why: "a burst of output in one request; bounds one request's memory (functions have 256 MB)",
    },
    {
      what: "a worker's request body as sent (compressed)",
      limit: bytes(l.workerWireBytes),
      answer: 'the worker cuts its batch',
      why: 'a Lambda event holds 6 MB and a binary body arrives base64 (4/3 larger); a worker that meets a lower limit (413) halves its requests',
    },
    {
      what: 'updates a `complete` carries itself',
      limit: `${bytes(l.completeCarriesBytes)} of JSON`,
      answer: 'the worker sends them as updates first',
      why: 'a short command ends in one request',
    },
    {
      what: 'any request body as sent, at the local gateway',
      limit: bytes(l.gatewayBodyBytes),
      answer: '413',
      why: "API Gateway's own payload limit, which the local stack keeps",
    },
    {
      what: 'one update, stored',
      limit: `${bytes(l.itemPayloadBytes)} compressed and ${bytes(l.itemRawBytes)} of JSON`,
      answer: '413, nothing of the batch stored',
      why:
        `one DynamoDB item (400 KB); a batch of many updates is cut into items of about ${bytes(l.itemTargetBytes)}. ` +
        `The worker's updates carry at most ${chars(l.updateChars)} characters, far below`,
    },
    {
      what: 'a `{files}` update of `glob` or `listdir`',
      limit: `${bytes(l.filesUpdateBytes)} of JSON`,
      answer: 'the command ends as `finish_error`, naming the limit',
      why: 'one stored update must fit a DynamoDB item with the rest of its batch',
    },
    {
      what: 'a `logfiles` file, as the worker reads it',
      limit: `${bytes(l.logfilePollBytes)} a poll while the command runs, ${bytes(l.logfileFinalBytes)} at its end`,
      answer: 'the rest waits for the next poll; at the end, the rest is not sent',
      why: "a file that grows as fast as it is read cannot hold a poll or the command's end",
    },
    {
      what: 'one page of `GET …/updates` or `GET …/logs/{name}`',
      limit:
        `${bytes(l.pageStoredBytes)} stored; ${bytes(l.pageCompressedBytes)} decompressed when the answer is ` +
        `compressed, ${bytes(l.pagePlainBytes)} in the Lambda response when not (escaped, or base64 when smaller)`,
      answer: 'the page ends (`next`, `x-bbs-next-seq`)',
      why:
        `a Lambda answer holds ${bytes(l.lambdaResponseBytes)} as JSON, its body escaped (a control character ` +
        'takes 6 bytes); the edge compresses a page as a stream, never joined',
    },
    {
      what: 'links in one page of `GET …/logs/{name}/links`',
      limit: `${l.pageLinks} (each a presigned GET of a log object, about 1 KB), and ${bytes(l.pageLinkTextBytes)} of text between them`,
      answer: 'the page ends (`nextSeq`; `next: "text"` when text comes next, for the text form)',
      why: 'a page stays small however much text its links stand for; the client reads them from S3',
    },
    {
      what: 'text batch (`application/vnd.bbs.text-batch`)',
      limit: 'worker routes only; parts must account for every byte after the header, each part valid UTF-8',
      answer: '400, nothing stored',
      why: 'the worker\'s output without JSON; any other route answers 400 "send JSON here"',
    },
    {
      what: 'answers compressed',
      limit: `from ${bytes(l.compressAnswerBytes)}, br or gzip as Accept-Encoding allows (br first)`,
      answer: '',
      why: `pages whose stored runs kept over ${percent(l.incompressibleRatio)} of their size (random text) go uncompressed`,
    },
    {
      what: 'state value (JSON text)',
      limit: bytes(l.stateValueBytes),
      answer: '413',
      why: 'DynamoDB items hold 400 KB, key and attributes included',
    },
    {
      what: "an object's name and className, a state value's name",
      limit:
        `${count(l.stateNameLength)} characters at the edge; as keys, a className of ${count(l.classNameBytes)} bytes ` +
        `(escaped), a name of ${count(l.objectNameBytes)} bytes, a state name of ${count(l.stateNameBytes)} bytes of UTF-8`,
      answer: '400; a longer name (not className) is shortened, as Buildbot does (docs/state.md)',
      why: 'DynamoDB caps a partition key at 2048 bytes and a sort key at 1024',
    },
    {
      what: 'command `args` (JSON)',
      limit: bytes(l.argsBytes),
      answer: '413',
      why: 'it travels in one SQS message (256 KB) with room for the envelope',
    },
    {
      what: 'updates in one batch',
      limit: count(l.updatesPerBatch),
      answer: '400',
      why: "bounds one request's work",
    },
    {
      what: "nesting of `args`, and of an update's `stat` or `files` (objects and arrays)",
      limit: `${count(l.jsonDepth)} levels; no key \`__proto__\`, \`constructor\` or \`prototype\` at any depth`,
      answer: '400, nothing stored',
      why: "bounds every reader's recursion; a stored value holds only what a check saw",
    },
    {
      what: '`decodeRC`',
      limit: `${count(l.decodeRCKeys)} keys, each an rc as decimal text (\`"0"\`, \`"-15"\`: at most 11 characters)`,
      answer: '400',
      why: 'it is kept on the command record',
    },
    {
      what: 'log names of one command (`{log: [name, text]}`)',
      limit:
        `${count(l.logNamesPerCommand)} distinct names of at most ${count(l.logNameLength)} characters; ` +
        'as many `logfiles` declared in `args`',
      answer: '413, nothing of the batch stored; 400 at start for `logfiles`',
      why: 'they are kept on the command record',
    },
    {
      what: "an interrupt's `why`, a worker's failure message, an update's `failure_reason`",
      limit:
        `${count(l.interruptWhyLength)}, ${count(l.failureMessageLength)} and ` +
        `${count(l.failureReasonLength)} characters`,
      answer: '400',
      why: 'the first two are kept on the command record',
    },
    recordRow(l),
    {
      what: 'list page (`GET /v1/commands?limit=`)',
      limit: `1–${count(l.listPageCommands)} commands`,
      answer: '400',
      why: 'one Query of the worker index',
    },
    {
      what: 'list cursor (`GET /v1/commands?cursor=`)',
      limit: `only as the API returned it, for the same worker; at most ${count(l.listCursorLength)} characters`,
      answer: '400',
      why: 'it carries the worker, a time and a command id, never a table key',
    },
    {
      what: 'worker name',
      limit: `1–${count(l.workerNameLength)} of \`A-Z a-z 0-9 _ -\``,
      answer: '400',
      why: "it is part of the worker's SQS queue name (80 characters)",
    },
    {
      what: 'command name',
      limit: `1–${count(l.commandNameLength)} of \`A-Z a-z 0-9 _ . -\``,
      answer: '400',
      why: '',
    },
    {
      what: 'idempotency key',
      limit: `${count(l.idempotencyKeyLength)} characters`,
      answer: '400',
      why: '',
    },
    {
      what: 'commands a worker registers',
      limit: count(l.registeredCommands),
      answer: '400',
      why: '',
    },
    {
      what: "a heartbeat's `concurrency` and `version`",
      limit: `1–${count(l.workerConcurrency)}; ${count(l.workerVersionLength)} characters`,
      answer: '400',
      why: '',
    },
    {
      what: "a heartbeat's `info`: files of `<basedir>/info/` and os-release entries; a name; a value; the whole, as JSON",
      limit: `${count(l.workerInfoFiles)}; ${count(l.workerInfoNameLength)} characters; ${count(l.workerInfoValueLength)} characters; ${bytes(l.workerInfoBytes)}`,
      answer: '400',
      why: 'stored with the command registry when it changes; the worker stays within them (first files by name, each cut, the last left out until the whole fits)',
    },
    {
      what: '`secrets` of a command: how many; a name; a value',
      limit: `${count(l.secretsPerCommand)}; ${count(l.secretNameLength)} characters; ${count(l.secretValueLength)} characters`,
      answer: '400',
      why: 'the values travel in the SQS message beside the args, and each is masked in all output',
    },
    {
      what: '`timeouts.start`, `timeouts.heartbeat`',
      limit: `${duration(l.timeoutMinSeconds)} to ${duration(l.timeoutMaxSeconds)}`,
      answer: '400',
      why: '',
    },
    {
      what: 'authorizer cache',
      limit: duration(l.authorizerCacheSeconds),
      answer: '',
      why: 'a revoked token keeps working this long',
    },
    {
      what: 'retention of finished commands and their updates',
      limit: `${duration(l.retentionSeconds)} (DynamoDB TTL)`,
      answer: '',
      why: '',
    },
    {
      what: 'due commands one watchdog run reads',
      limit:
        `pages of ${count(l.watchdogPageSize)} index entries from each of ${count(l.dueShards)} shards (and the ` +
        `legacy one) for ${duration(l.watchdogRunSeconds)}, ${count(l.watchdogConcurrency)} commands judged at once`,
      answer: 'the next run (every minute) picks up the rest',
      why: 'a run ends before the next one starts; one index partition takes 1,000 WCU a second',
    },
    {
      what: 'an artifact or a blob (docs/artifacts.md)',
      limit:
        `${bytes(l.artifactMaxBytes)} (${count(l.artifactMaxParts)} parts of ${bytes(l.artifactPartBytes)}); a blob ` +
        `${bytes(l.artifactPartUrlsPerAnswer * l.artifactPartBytes)} (one page of ${count(l.artifactPartUrlsPerAnswer)} part URLs)`,
      answer: '400',
      why: "S3's 10,000 parts; the local emulator refuses a request body over 11 MiB; an answer stays under Lambda's 6 MB",
    },
    {
      what: 'presigned URLs',
      limit: `uploads ${duration(l.artifactUploadUrlSeconds)}, the artifact redirect ${duration(l.artifactDownloadUrlSeconds)}`,
      answer: 'S3 answers 403 after',
      why: 'a leaked URL is good for one part of one object, briefly',
    },
    {
      what: 'artifacts of one command; the length of a name',
      limit: `${count(l.artifactsPerCommand)}; ${count(l.artifactNameLength)} characters`,
      answer: '409; 400',
      why: '',
    },
    {
      what: 'topics one push connection subscribes to (a command, a worker, or all)',
      limit: count(l.pushTopicsPerConnection),
      answer: 'an `error` frame, `too_many_subscriptions`; nothing stored',
      why: 'each subscription is an item that $disconnect deletes',
    },
    {
      what: 'a push connection and its subscriptions',
      limit: `${duration(l.pushConnectionSeconds)} (their items' TTL)`,
      answer: 'API Gateway closes a connection after 2 hours; the client opens another and resumes',
      why: "API Gateway's own limit, and a margin",
    },
    {
      what: "connection ids a watched command's record lists",
      limit: count(l.pushRecordWatchers),
      answer: 'past it the writers query the subscribers (a Query before each post)',
      why: 'the list is on every write of the record, which is billed by its size',
    },
    {
      what: 'update text one push frame carries',
      limit: `${count(l.pushInlineBytes)} bytes of JSON; a frame at most ${bytes(l.pushFrameBytes)}`,
      answer: 'larger updates are announced (`acked`), and the client reads them',
      why: 'API Gateway bills messages in 32 KB units and delivers at most 128 KB, either way',
    },
    {
      what: 'transfer memory (worker and client)',
      limit: `${count(l.artifactPartsInFlight)} parts in flight, one part filling: about ${bytes((l.artifactPartsInFlight + 1) * l.artifactPartBytes)}`,
      answer: '',
      why: 'a 1 GiB transfer grows the worker by at most 64 MiB',
    },
  ];
}
