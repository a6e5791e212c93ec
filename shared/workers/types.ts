// Owns the worker registry's constants, item shapes and views (presence, queue settings, records, heartbeat report).
/**
 * How often a worker calls POST /v1/workers/{name}/heartbeat while idle. 15 s keeps 10,000 idle workers at 667
 * requests a second, 6.7 % of an account's 10,000 a second of API quota (docs/operations.md, Scaling). @default 15 s
 */
export const HEARTBEAT_INTERVAL_MS = 15_000;
/** A worker not seen for this long (3 heartbeat intervals) is offline. @default 45 s */
export const OFFLINE_AFTER_MS = 3 * HEARTBEAT_INTERVAL_MS;

/** SQS settings of every worker queue. */
export const WORKER_QUEUE = {
  /**
   * Seconds a received message stays hidden. A worker claims (one HTTP call) and deletes the message
   * right after receiving it, so 30 s is ample; a worker that dies in between frees it for redelivery.
   * @default 30
   */
  visibilityTimeoutSeconds: 30,
  /** Receives without a delete before SQS moves a message to the dead-letter queue. @default 5 */
  maxReceiveCount: 5,
  /** Default long-poll wait, in seconds. @default 20 */
  receiveWaitSeconds: 20,
} as const;

export const PRESENCE = { online: 'online', offline: 'offline' } as const;
export type Presence = (typeof PRESENCE)[keyof typeof PRESENCE];

/**
 * The worker record (access pattern 6). Small on purpose: every heartbeat rewrites it, and DynamoDB bills
 * an update by the larger of the old and new item (1 WCU per KB), so the command registry lives apart.
 */
export interface WorkerItem {
  pk: string;
  sk: string;
  name: string;
  queueUrl: string;
  /** SHA-256 of the worker's current token, so that a rotation can revoke the old one. */
  tokenHash: string;
  createdAt: number;
  lastSeenAt?: number;
  /** The hash of the stored command registry (pattern 6b); undefined until the first heartbeat. */
  commandsHash?: string;
  /** The hash of the worker info stored with the registry; undefined until a heartbeat brings info. */
  infoHash?: string;
  concurrency?: number;
  running?: number;
  version?: string;
}

/** The worker's command registry (access pattern 6b), rewritten only when a heartbeat brings another list. */
export interface WorkerRegistryItem {
  pk: string;
  sk: string;
  commands: string[];
  commandsHash: string;
  /** Written only when a heartbeat brings info whose hash differs from the record's infoHash. */
  info?: WorkerInfo;
  infoHash?: string;
}

/**
 * What Buildbot's worker answers to getWorkerInfo (worker/buildbot_worker/base.py), less `environ`: the
 * environment may hold secrets, so it never leaves the machine. Buildbot's flat dict is split in parts here:
 * its info/ files are `files`, its `os_*` keys from /etc/os-release are `osRelease` (without the prefix).
 */
export interface WorkerInfo {
  /** Buildbot's `system`, Python's os.name: 'posix', or 'nt' on Windows. */
  system: string;
  /** process.platform, the kernel release and process.arch, e.g. 'linux 6.8.0 x64' (Buildbot has none). */
  platform: string;
  numcpus: number;
  /** The worker's base directory, absolute. */
  basedir: string;
  /** The worker's version (Buildbot's getVersion). */
  version: string;
  /** Buildbot's `worker_commands`: each registered command's version (Buildbot's command_version). */
  commandVersions: Record<string, string>;
  /** The files of `<basedir>/info/` by name, as text: `admin` and `host` by Buildbot's convention. */
  files: Record<string, string>;
  /** /etc/os-release, key → value (Buildbot's `os_<key lowercased>` entries). */
  osRelease: Record<string, string>;
}

/** A worker as loadWorker reads it: the record and its command registry (undefined until the first heartbeat). */
export interface LoadedWorker extends WorkerItem {
  commands?: string[];
  info?: WorkerInfo;
}

/** A worker as GET /v1/workers/{name} shows it. */
export interface WorkerView {
  name: string;
  queueUrl: string;
  presence: Presence;
  createdAt: string;
  lastSeenAt: string | null;
  commands: string[];
  concurrency: number | null;
  running: number | null;
  version: string | null;
  /** What the worker last reported of itself (Buildbot's worker info); null until it has. */
  info: WorkerInfo | null;
  heartbeatIntervalMs: number;
  offlineAfterMs: number;
}

/**
 * What a worker reports with each heartbeat: the body of POST /v1/workers/{name}/heartbeat, once its wire
 * schema (shared/commands/wire.ts) has validated it.
 */
export interface WorkerReport {
  /** The names of the commands the worker can run (its command registry). */
  commands: string[];
  concurrency?: number;
  running?: number;
  version?: string;
  /** Sent on the worker's first heartbeat and when it changed (the worker compares with what it last sent). */
  info?: WorkerInfo;
  /** Vend fresh queue credentials with this answer (the worker holds none, or its current ones end soon). */
  credentials?: boolean;
}

/** Short-lived AWS credentials (STS) that can only receive, delete and change visibility on one worker's queue. */
export interface QueueCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** When they stop working, ISO 8601. */
  expiration: string;
}

/** What a worker needs to reach its queue with nothing but its bbs token: where, and as whom. */
export interface QueueAccess {
  region: string;
  /** The SQS endpoint to send to, when it is not the region's own (the local stack's emulator). */
  endpoint?: string;
  credentials: QueueCredentials;
}

/**
 * What a heartbeat answers: the worker's queue, how often to beat while idle (milliseconds), and, when the
 * worker asked and the service vends them, credentials for that queue.
 */
export interface HeartbeatAnswer {
  queueUrl: string;
  heartbeatIntervalMs: number;
  queueAccess?: QueueAccess;
}

export interface RegisteredWorker {
  name: string;
  /** Shown once; only its hash is stored. */
  token: string;
  queueUrl: string;
}
