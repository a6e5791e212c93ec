/**
 * transfer: a file each way between a worker and S3 (the local stack's fauxqs), as uploadFile and
 * downloadFile move it through presigned URLs, 1 GiB by default (TRANSFER_BENCH_MIB to change it).
 * Figures: MiB/s up (uploadFile, POST → complete) and down (downloadFile of a client's blob), the worker
 * process's RSS growth while each runs, and the client's own upload and checked download.
 * Floors, measured in the same run on the same bytes: the bare emulator (@aws-sdk/client-s3 multipart PUT
 * with the same part size and parts in flight, and a streamed GET), and `cp` of the file on this disk.
 * Buildbot 3.7's FileUpload/FileDownload over PB on this kind of machine (measured apart: 126 MiB/s up,
 * 60 MiB/s down, 256 MiB of random bytes) is shown beside them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { LocalStack } from '../local/index.ts';
import { CommandsClient } from '../shared/client/CommandsClient.ts';
import * as ENV from '../shared/config.ts';
import * as LIMITS from '../shared/limits.ts';
import type { Benchmark } from './lib/benchmark.ts';
import { size } from './lib/benchmark.ts';
import { repoRoot } from './lib/paths.ts';
import { runTimed, spawnLineChild } from './lib/processes.ts';
import type { Figure } from './lib/report.ts';

const MIB = 1024 * 1024;
/** Buildbot 3.7 over PB, 256 MiB of random bytes, this kind of machine (issue 10). */
const BUILDBOT = { upMiBs: 126, downMiBs: 60 } as const;

/** The process's resident set, in bytes (Linux /proc). */
function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

/** Samples `pid`'s RSS every 50 ms while `work` runs: the growth over the RSS before it. */
async function withRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = rssOf(pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
  try {
    const result = await work();
    peak = Math.max(peak, rssOf(pid));
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

async function writeRandom(file: string, bytes: number): Promise<string> {
  const handle = await open(file, 'w');
  const hash = createHash('sha256');
  try {
    for (let left = bytes; left > 0; left -= MIB) {
      const chunk = randomBytes(Math.min(MIB, left));
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The bare emulator: the same bytes through the SDK, multipart with our part size and parts in flight, then GET. */
async function bareEmulator(
  stack: LocalStack,
  file: string,
  bytes: number,
): Promise<{ putMs: number; getMs: number }> {
  const s3 = new S3Client({
    endpoint: stack.env[ENV.awsEndpointUrlS3],
    forcePathStyle: true,
    region: stack.env[ENV.awsRegion],
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const Bucket = stack.env[ENV.artifactsBucket]!;
  const Key = `bench/${Date.now()}`;
  try {
    const putStart = performance.now();
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const handle = await open(file, 'r');
    const parts: { PartNumber: number; ETag: string }[] = [];
    const count = Math.ceil(bytes / LIMITS.artifactPartBytes);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < count) {
        const index = next++;
        const body = Buffer.allocUnsafe(
          Math.min(LIMITS.artifactPartBytes, bytes - index * LIMITS.artifactPartBytes),
        );
        await handle.read(body, 0, body.length, index * LIMITS.artifactPartBytes);
        const { ETag } = await s3.send(
          new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: index + 1, Body: body }),
        );
        parts.push({ PartNumber: index + 1, ETag: ETag! });
      }
    };
    await Promise.all(Array.from({ length: LIMITS.artifactPartsInFlight }, lane));
    await handle.close();
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }),
    );
    const putMs = performance.now() - putStart;
    const getStart = performance.now();
    const { Body } = await s3.send(new GetObjectCommand({ Bucket, Key }));
    await pipeline(Body as NodeJS.ReadableStream, new Writable({ write: (_c, _e, done) => done() }));
    return { putMs, getMs: performance.now() - getStart };
  } finally {
    s3.destroy();
  }
}

/** Polls the command every 100 ms until it is complete. */
async function finished(client: CommandsClient, commandId: string) {
  for (;;) {
    const view = await client.getCommand(commandId);
    if (view.status === 'complete') return view;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A worker agent in its own process on a base directory this benchmark knows (bench/fixtures/worker.ts). */
async function startWorker(stack: LocalStack) {
  const admin = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.admin });
  const name = `xfer-${Date.now().toString(36)}`;
  const { token } = await admin.registerWorker(name);
  const basedir = mkdtempSync(join(tmpdir(), 'bbs-bench-xfer-'));
  const child = spawnLineChild(
    join(repoRoot, 'bench', 'fixtures', 'worker.ts'),
    [stack.apiUrl, name, token, basedir, '1'],
    {
      ...process.env,
      ...stack.env,
    },
  );
  await child.next<{ ready: true }>();
  return {
    name,
    basedir,
    pid: child.pid,
    async stop() {
      const closed = child.close();
      await child.next();
      await closed;
      rmSync(basedir, { recursive: true, force: true });
    },
  };
}

export const transfer: Benchmark = {
  name: 'transfer',
  title: 'a file each way between a worker and S3 (presigned parts), MiB/s and worker RSS',
  async run(ctx) {
    const mib = size(ctx, Number(process.env[ENV.transferBenchMib] ?? 1024), 16);
    const bytes = mib * MIB;
    const stack = await ctx.stack();
    const client = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client });
    const worker = await startWorker(stack);
    const rate = (ms: number): number => mib / (ms / 1000);
    try {
      ctx.progress(`writing ${mib} MiB of random bytes`);
      const source = join(worker.basedir, 'data.bin');
      const sum = await writeRandom(source, bytes);

      ctx.progress('floor: cp');
      const cp = await runTimed('cp', [source, join(worker.basedir, 'copy.bin')]);
      rmSync(join(worker.basedir, 'copy.bin'));
      ctx.progress('floor: the bare emulator through the SDK');
      const bare = await bareEmulator(stack, source, bytes);

      ctx.progress(`up: uploadFile of ${mib} MiB`);
      const up = await withRss(worker.pid, async () => {
        const start = performance.now();
        const { commandId } = await client.startCommand({
          worker: worker.name,
          command: 'uploadFile',
          args: { workersrc: 'data.bin', workdir: '.' },
        });
        const view = await finished(client, commandId);
        return { commandId, rc: view.rc, ms: performance.now() - start };
      });
      ctx.progress('the client: the artifact downloaded and checked');
      const clientDownStart = performance.now();
      const downloaded = await client.downloadArtifact(
        up.result.commandId,
        'data.bin',
        new Writable({ write: (_c, _e, done) => done() }),
      );
      const clientDownMs = performance.now() - clientDownStart;

      ctx.progress('the client: the blob uploaded');
      const clientUpStart = performance.now();
      const { blobId } = await client.uploadBlob(createReadStream(source, { highWaterMark: MIB }), bytes);
      const clientUpMs = performance.now() - clientUpStart;
      ctx.progress(`down: downloadFile of ${mib} MiB`);
      const down = await withRss(worker.pid, async () => {
        const start = performance.now();
        const { commandId } = await client.startCommand({
          worker: worker.name,
          command: 'downloadFile',
          args: { blob: blobId, workerdest: 'back.bin', workdir: '.' },
        });
        const view = await finished(client, commandId);
        return { rc: view.rc, ms: performance.now() - start };
      });
      const backSum = await sha256Of(join(worker.basedir, 'back.bin'));

      const floorUp = rate(bare.putMs);
      const floorDown = rate(bare.getMs);
      const figures: Figure[] = [
        {
          name: 'up: uploadFile (worker → S3)',
          value: rate(up.result.ms),
          unit: 'MiB/s',
          floor: floorUp,
          target: { op: '>=', value: 0.8 * floorUp },
        },
        {
          name: 'down: downloadFile (S3 → worker)',
          value: rate(down.result.ms),
          unit: 'MiB/s',
          floor: floorDown,
          target: { op: '>=', value: 0.8 * floorDown },
        },
        { name: 'floor: bare emulator PUT (SDK, multipart)', value: floorUp, unit: 'MiB/s' },
        { name: 'floor: bare emulator GET (SDK)', value: floorDown, unit: 'MiB/s' },
        { name: 'floor: cp on this disk', value: rate(cp.wallMs), unit: 'MiB/s' },
        {
          name: 'up vs Buildbot 3.7 FileUpload (126 MiB/s)',
          value: rate(up.result.ms) / BUILDBOT.upMiBs,
          unit: 'ratio',
        },
        {
          name: 'down vs Buildbot 3.7 FileDownload (60 MiB/s)',
          value: rate(down.result.ms) / BUILDBOT.downMiBs,
          unit: 'ratio',
        },
        {
          name: 'worker RSS growth, up',
          value: up.growth / MIB,
          unit: 'MiB',
          target: { op: '<=', value: 64 },
        },
        {
          name: 'worker RSS growth, down',
          value: down.growth / MIB,
          unit: 'MiB',
          target: { op: '<=', value: 64 },
        },
        { name: 'client: uploadBlob', value: rate(clientUpMs), unit: 'MiB/s' },
        { name: 'client: downloadArtifact, checked', value: rate(clientDownMs), unit: 'MiB/s' },
      ];
      return {
        params: { mib, partBytes: LIMITS.artifactPartBytes, partsInFlight: LIMITS.artifactPartsInFlight },
        figures,
        samples: {
          upMs: [up.result.ms],
          downMs: [down.result.ms],
          clientUpMs: [clientUpMs],
          clientDownMs: [clientDownMs],
          upRssGrowthBytes: [up.growth],
          downRssGrowthBytes: [down.growth],
        },
        floor: {
          description:
            'the same bytes through @aws-sdk/client-s3 against the same fauxqs (multipart PUT, GET), and cp',
          samples: { bareputMs: [bare.putMs], bareGetMs: [bare.getMs], cpMs: [cp.wallMs] },
        },
        checks: {
          'uploadFile rc 0': up.result.rc === 0,
          'downloadFile rc 0': down.result.rc === 0,
          'artifact byte-exact (sha256)': downloaded.sha256 === sum,
          'downloaded file byte-exact (sha256)': backSum === sum,
        },
        details: { buildbot: BUILDBOT },
      };
    } finally {
      await worker.stop();
    }
  },
};
