// Owns every limit of the service: sizes, counts and durations that bound what is accepted, stored and answered.

const KiB = 1024;
const MiB = 1024 * KiB;

/*
 * Every limit, in one place, each with the reason for its value. docs/limits.md is generated from this file and
 * the rows of scripts/limits-doc.ts (`npx tsx scripts/limits-doc.ts`); test/limits.test.ts fails when the doc
 * differs, when a limit is missing from it, or when a limit has no `@default`. Lengths are in characters
 * (UTF-16 code units, as JavaScript counts them), sizes in bytes of UTF-8.
 *
 * Import it as a namespace, `import * as LIMITS from '../limits.ts'`, and read `LIMITS.argsBytes`: esbuild then
 * puts into each function's bundle only the limits it reads, as plain numbers (an object of them all would
 * cost every bundle about 1 KB).
 */

// Request bodies at the edge (functions/lib/http.ts)

/** Body of a client or admin request, after decompression (gzip or br): one Lambda payload, with room to spare. @default 1 MiB */
export const clientBodyBytes = 1 * MiB;
/**
 * Body of a worker's request (updates, complete, heartbeat, claim) after decompression: a burst of output in
 * one request. Bodies stay bounded on the wire by workerWireBytes, so this bounds only the work and memory of
 * one request (functions have 256 MB). @default 16 MiB
 */
export const workerBodyBytes = 16 * MiB;
/**
 * Compressed body a worker sends at most: a Lambda takes 6 MB of event, and a binary body arrives base64 (4/3
 * larger) in it. A worker that meets a lower limit (413) halves its requests. @default 3 MiB
 */
export const workerWireBytes = 3 * MiB;
/** Body the local gateway accepts as sent, API Gateway's own payload limit (local/gateway/server.ts). @default 10 MiB */
export const gatewayBodyBytes = 10 * MiB;

// Commands (shared/commands/wire.ts)

/** Characters of a worker name, `A-Z a-z 0-9 _ -`: it is part of the worker's SQS queue name (80 characters). @default 40 */
export const workerNameLength = 40;
/** Characters of a command name, `A-Z a-z 0-9 _ . -`. @default 64 */
export const commandNameLength = 64;
/** JSON size of a command's args: it travels in one SQS message (256 KB) with room for the envelope. @default 64 KiB */
export const argsBytes = 64 * KiB;
/** Secrets one command may carry (`secrets` of POST /v1/commands): each is masked in all its output. @default 32 */
export const secretsPerCommand = 32;
/** Characters of a secret's name. @default 64 */
export const secretNameLength = 64;
/** Characters of a secret's value: the values travel in the command's SQS message beside its args. @default 4096 */
export const secretValueLength = 4096;
// What may grow a command record is bounded so that it stays far below DynamoDB's 400 KB item limit and
// every ending write fits (docs/limits.md adds them up): args, decodeRC, log names, the failure, the why.

/**
 * Nesting of args and of an update's `stat` or `files` (objects and arrays; a scalar is 0): bounds every
 * reader's recursion. @default 64
 */
export const jsonDepth = 64;
/** Keys of a command's decodeRC, each an rc as decimal text (`"0"`, `"-15"`, at most 11 characters). @default 256 */
export const decodeRCKeys = 256;
/** Characters of an idempotency key. @default 128 */
export const idempotencyKeyLength = 128;
/** Shortest `timeouts.start` and `timeouts.heartbeat`, in seconds. @default 1 */
export const timeoutMinSeconds = 1;
/** Longest `timeouts.start` and `timeouts.heartbeat`, in seconds. @default 1 day */
export const timeoutMaxSeconds = 86_400;
/** Characters of an interrupt's `why`: it is kept on the command record. @default 1024 */
export const interruptWhyLength = 1024;
/** Characters of the message of a worker's failure (start_error, finish_error): kept on the record. @default 4096 */
export const failureMessageLength = 4096;
/** Characters of an update's `failure_reason`. @default 256 */
export const failureReasonLength = 256;
/** Updates in one POST .../updates (or one complete): bounds one request's work. @default 10,000 */
export const updatesPerBatch = 10_000;
/** Distinct `{log: [name, text]}` names of one command: the record keeps them. @default 64 */
export const logNamesPerCommand = 64;
/** Characters of one log name. @default 256 */
export const logNameLength = 256;
/** Commands a worker may register (its heartbeat's `commands`). @default 100 */
export const registeredCommands = 100;
/** A worker's `concurrency`, as its heartbeat reports it. @default 1024 */
export const workerConcurrency = 1024;
/** Characters of a worker's `version`, as its heartbeat reports it. @default 64 */
export const workerVersionLength = 64;
/**
 * Files of `<basedir>/info/` (admin, host, ...) a heartbeat's `info` carries, and os-release entries: the worker
 * sends the first by name and leaves the rest out. @default 32
 */
export const workerInfoFiles = 32;
/** Characters of an info file's name or an os-release key. @default 128 */
export const workerInfoNameLength = 128;
/**
 * Characters of one value of a heartbeat's `info`: an info file's text (the worker cuts it there), an os-release
 * value, the basedir. @default 4096
 */
export const workerInfoValueLength = 4096;
/**
 * Bytes of a heartbeat's `info` as JSON: it is stored with the command registry (one write of about 1 WCU per KB,
 * made only when it changes), so the worker leaves out files from the last by name until it fits. @default 32 KiB
 */
export const workerInfoBytes = 32 * KiB;
/** Commands in one page of GET /v1/commands (`limit`). @default 100 */
export const listPageCommands = 100;
/** Characters of a list cursor (`cursor`), which only the API makes. @default 2048 */
export const listCursorLength = 2048;

// Updates at rest (shared/commands/runs.ts)

/** Largest stored payload of one item: DynamoDB allows 400 KB including keys. @default 380 KB */
export const itemPayloadBytes = 380 * 1000;
/** Compressed bytes a stored run aims at when a batch must be cut into several items. @default 300 KB */
export const itemTargetBytes = 300 * 1000;
/** Largest fragment of one run, decompressed: what one read of one item may cost in memory. @default 16 MiB */
export const itemRawBytes = 16 * MiB;

// Reading updates and logs (shared/commands/pagedReads.ts, functions/lib/http.ts)

/** Stored (compressed) bytes a page of updates or log text reads: its compressed answer stays under 4 MiB of base64. @default 3 MiB */
export const pageStoredBytes = 3 * MiB;
/**
 * Decompressed bytes of a page whose answer is compressed: 50 MiB of `yes hello` in one page. The edge
 * holds the page's parts (up to this, 64 MiB) and compresses them as a stream, never joined: with a
 * run being decoded (~10 MiB) and the compressor, about 90 MiB at the peak in a 256 MB function.
 * @default 64 MiB
 */
export const pageCompressedBytes = 64 * MiB;
/**
 * Bytes a page whose answer goes uncompressed takes in the Lambda response: its text as JSON escapes it
 * (a control character takes 6 bytes), or its base64 when that is smaller (shared/commands/escapedBytes.ts).
 * @default 4 MiB
 */
export const pagePlainBytes = 4 * MiB;
/**
 * AWS's own: the largest Lambda response, measured as Lambda serializes it (JSON, body escaped); over it,
 * HTTP API answers 500. The local gateway refuses the same (local/gateway/server.ts). @default 6,291,556 bytes
 */
export const lambdaResponseBytes = 6_291_556;
/**
 * Links one page of GET .../logs/{name}/links hands out (each a presigned GET of a log object, about 1 KB):
 * at LOG_OBJECT_MAX_BYTES each, 512 MiB of text in one answer. @default 64
 */
export const pageLinks = 64;
/**
 * Text one page of GET .../logs/{name}/links carries between its links (headers, short runs): more ends the
 * page, and the client reads it through the text form, bytes compressed as a stream. @default 256 KiB
 */
export const pageLinkTextBytes = 256 * KiB;
/** Answers shorter than this go uncompressed whatever Accept-Encoding allows. @default 1 KiB */
export const compressAnswerBytes = 1 * KiB;
/**
 * A page whose stored runs kept more than this share of their size is sent uncompressed: compressing it
 * again would cost CPU for little (random text keeps about 75 %), and it is small enough, being bounded by
 * pageStoredBytes. @default 0.7
 */
export const incompressibleRatio = 0.7;

// Time

/** Finished commands and their update items expire this long after they were written (DynamoDB TTL). @default 30 days */
export const retentionSeconds = 30 * 24 * 3600;
/**
 * How long API Gateway caches a token's authorization: a revoked token keeps working this long. serverless.yml
 * sets it (`resultTtlInSeconds`); test/limits.test.ts holds the two together. @default 60 s
 */
export const authorizerCacheSeconds = 60;
/** Index entries one watchdog query reads (one page). @default 100 */
export const watchdogPageSize = 100;
/**
 * Shards of the deadline index (dueByDeadline's partition key `DUE#<k>`, k a hash of the command id): each
 * deadline move writes its shard (2 WCU), and one partition takes 1,000 WCU a second. 16 keep 100,000 running
 * commands under half of that (docs/operations.md, Scaling). Grow it freely; never shrink it while commands
 * written under the larger count can live (the watchdog queries shards below this count only). @default 16
 */
export const dueShards = 16;
/**
 * Seconds one watchdog run works before it stops reading pages (the next run picks up the rest), within
 * the function's 90 s timeout (serverless.yml): the endings under way then finish, and a run ends before
 * the next minute's starts. @default 45 s
 */
export const watchdogRunSeconds = 45;
/** Commands one watchdog run judges and ends at once (reads, ending writes, event sends in flight). @default 32 */
export const watchdogConcurrency = 32;

// State (shared/state)

/**
 * Largest JSON text of one state value, in UTF-8 bytes. A DynamoDB item holds 400 KB including its key and
 * attribute names; the margin covers the longest key (about 1.1 KB) many times over. @default 350 KiB
 */
export const stateValueBytes = 350 * KiB;
/** Characters of a name or className accepted at the edge; the byte limits below apply too. @default 4096 */
export const stateNameLength = 4096;
/** UTF-8 bytes of an object's className, after escaping `%` and `#`; longer is an error. @default 256 */
export const classNameBytes = 256;
/** UTF-8 bytes of an object's name; longer names are shortened by `ensureLength` (state/keys.ts). @default 1024 */
export const objectNameBytes = 1024;
/** UTF-8 bytes of a state value's name; longer names are shortened by `ensureLength` (state/keys.ts). @default 512 */
export const stateNameBytes = 512;

// The worker agent (worker/)

/** Characters of one stdout/stderr/header update the worker sends (Buildbot's worker uses 128 KiB chunks); longer output is cut into several. @default 64 Ki */
export const updateChars = 64 * KiB;
/**
 * Largest JSON of one `{files}` update (glob, listdir). A stored update must fit one DynamoDB item (400 KB with
 * the other updates of its batch), so a larger list ends the command as `finish_error` naming this limit, where
 * it used to end as `worker_lost` (RETRY, retried for ever by a master). @default 256 KiB
 */
export const filesUpdateBytes = 256 * KiB;
/** Bytes of a logfile one poll reads while the command runs; the rest comes with the next poll. @default 1 MiB */
export const logfilePollBytes = 1 * MiB;
/** Bytes of a logfile the last read (when the command has ended) takes. @default 64 MiB */
export const logfileFinalBytes = 64 * MiB;
/**
 * Unacknowledged update bytes a complete carries itself (above that, the sender flushes them as updates
 * first): a short command ends in one request. @default 256 KiB
 */
export const completeCarriesBytes = 256 * KiB;

// Artifacts (shared/artifacts, worker/commands/transfer*.ts; docs/artifacts.md)

/**
 * Bytes of one multipart part, the unit the worker and the client move and hold in memory: S3 takes 5 MiB to
 * 5 GiB a part, and the local emulator refuses any request body over 11 MiB. @default 8 MiB
 */
export const artifactPartBytes = 8 * MiB;
/** Parts of one object, S3's own limit: with artifactPartBytes, the largest artifact. @default 10,000 */
export const artifactMaxParts = 10_000;
/** Bytes of one artifact or blob: artifactMaxParts parts of artifactPartBytes (about 78 GiB). @default 80,000 MiB */
export const artifactMaxBytes = artifactMaxParts * artifactPartBytes;
/**
 * Presigned part URLs one answer carries (each about 1 KB): an answer stays far below Lambda's 6 MB. The
 * worker asks for the next page; a blob must fit in one page (about 7.8 GiB). @default 1,000
 */
export const artifactPartUrlsPerAnswer = 1000;
/** Seconds a presigned upload or blob URL stays valid. @default 900 s */
export const artifactUploadUrlSeconds = 900;
/** Seconds the presigned GET that GET /v1/commands/{id}/artifacts/{name} redirects to stays valid. @default 300 s */
export const artifactDownloadUrlSeconds = 300;
/** Parts a worker or a client sends or reads at once; each holds one part in memory. @default 3 */
export const artifactPartsInFlight = 3;
/** Characters of an artifact's name (the file's base name, `.tar[.gz|.bz2]` added for a directory). @default 255 */
export const artifactNameLength = 255;
/** Artifacts one command may store (each a small item beside the command record, not in it). @default 16 */
export const artifactsPerCommand = 16;

// Push (shared/push; docs/client.md, Push)

/** Topics one push connection may hold: each is an item to delete at $disconnect. @default 100 */
export const pushTopicsPerConnection = 100;
/** API Gateway's longest WebSocket connection, 2 hours, and a margin: its items' TTL. @default 7,800 s */
export const pushConnectionSeconds = 2 * 3600 + 600;
/** Connection ids a watched command's record lists (about 20 bytes each, on every write of it). @default 8 */
export const pushRecordWatchers = 8;
/** The inline text of one `updates` frame, in bytes of JSON: API Gateway bills messages in 32 KB units. @default 30,000 */
export const pushInlineBytes = 30_000;
/** API Gateway's largest WebSocket message, either way; `updates` above pushInlineBytes become `acked`. @default 128 KiB */
export const pushFrameBytes = 128 * KiB;
