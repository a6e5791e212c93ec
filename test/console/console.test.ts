// The web console in headless chromium against the real local stack: sign-in, the live list and log, interrupt, artifacts.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { registerWorker, startCommand, waitForCommand } from '../support/api.ts';
import { ownStack } from '../support/stack.ts';
import { spawnWorker, workerStackFixture } from '../worker/helpers.ts';
import type { WorkerProcess } from '../worker/helpers.ts';
import { NO_BROWSER, launchBrowser, screenshot } from './browser.ts';

// A stack of its own: the Workers page shows the first 100 workers by registration until asked for more, and the
// State page the first 20 (docs/console.md); the shared stack holds hundreds from the other files, registered first.
const t = workerStackFixture(() => ownStack());
let browser: Browser | undefined;
let worker: { name: string; proc: WorkerProcess };

let ready: Promise<void> | undefined;

/** One browser and one worker for the file, made at the first test (after the stack fixture's own hook). */
function setUp(): Promise<void> {
  ready ??= (async () => {
    browser = await launchBrowser();
    const registered = await registerWorker(t.stack, 'console');
    const proc = await spawnWorker(t.stack, registered, ['--concurrency', '4']);
    t.started.push(proc);
    worker = { name: registered.name, proc };
  })();
  return ready;
}

after(async () => {
  await browser?.close();
});

/** A page signed in through the `#token=` link, as npm start prints it; every request it makes is recorded. */
async function signedIn(
  route = '',
  width = 1200,
): Promise<{ page: Page; context: BrowserContext; requests: { url: string; auth?: string }[] }> {
  const context = await browser!.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  const requests: { url: string; auth?: string }[] = [];
  page.on('request', (request) => {
    const auth = request.headers().authorization;
    requests.push({ url: request.url(), ...(auth ? { auth } : {}) });
  });
  await page.goto(`${t.stack.apiUrl}/#token=${encodeURIComponent(t.stack.tokens.client)}`);
  await page.getByRole('heading', { name: 'Commands' }).waitFor();
  if (route) await page.goto(`${t.stack.apiUrl}/${route}`);
  return { page, context, requests };
}

/** A header by name, however the browser cased it. */
function headerOf(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((header) => header.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function shell(command: string): Record<string, unknown> {
  return { command: ['sh', '-c', command], workdir: '.' };
}

describe('the web console', { skip: NO_BROWSER }, () => {
  beforeEach(setUp);

  it('shows a sign-in form that says where a token comes from when visited without one', async () => {
    // Prepare
    const context = await browser!.newContext();
    const page = await context.newPage();

    // Act
    const answer = await page.goto(`${t.stack.apiUrl}/`);

    // Assess
    assert.equal(answer?.status(), 200);
    assert.equal(answer?.headers()['cache-control'], 'no-cache');
    await page.getByLabel('Client token').waitFor();
    assert.match(await page.locator('main').innerText(), /npm start prints a ready link/);
    await screenshot(page, 'sign-in');
    await context.close();
  });

  it('signs in from the #token= link, drops it from the address and sends it only in the Authorization header', async () => {
    // Act
    const { page, context, requests } = await signedIn();

    // Assess
    assert.doesNotMatch(page.url(), /token/);
    const token = t.stack.tokens.client;
    assert.ok(
      requests.every((request) => !request.url.includes(token)),
      'no request URL carries the token',
    );
    const apiCalls = requests.filter((request) => new URL(request.url).pathname.startsWith('/v1/'));
    assert.ok(apiCalls.length > 0);
    assert.ok(apiCalls.every((request) => request.auth === `Bearer ${token}`));
    const assets = requests.filter((request) => new URL(request.url).pathname.startsWith('/assets/'));
    assert.ok(assets.length >= 2 && assets.every((request) => request.auth === undefined));
    await screenshot(page, 'commands');
    await context.close();
  });

  it('tells a refused token apart and says what to do next', async () => {
    // Prepare
    const context = await browser!.newContext();
    const page = await context.newPage();

    // Act
    await page.goto(`${t.stack.apiUrl}/#token=not-a-real-token`);

    // Assess
    const problem = page.locator('[data-kind="unauthorized"]').first();
    await problem.waitFor();
    assert.match(await problem.innerText(), /token was refused.*npm start/s);
    await screenshot(page, 'token-refused');
    await context.close();
  });

  it('says the API does not answer, and what to do, when it cannot reach it', async () => {
    // Prepare
    const { page, context } = await signedIn();

    // Act: every API call fails as a stopped stack's would
    await page.route('**/v1/**', (route) => route.abort('connectionrefused'));

    // Assess
    const problem = page.locator('[data-kind="unreachable"]').first();
    await problem.waitFor({ timeout: 10_000 });
    assert.match(await problem.innerText(), /Is npm start still running\?/);
    await screenshot(page, 'api-unreachable');
    await context.close();
  });

  it('adds a new command to the live list and shows its result when it ends', async () => {
    // Prepare
    const { page, context } = await signedIn(`#/commands?worker=${worker.name}`);
    await page.locator('.commands, .muted').first().waitFor();

    // Act
    const id = await startCommand(t.stack, worker.name, 'shell', shell('sleep 1; echo listed'));

    // Assess
    const row = page.locator(`li[data-command-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    await row.locator('.badge-success').waitFor({ timeout: 15_000 });
    await screenshot(page, 'commands-live');
    await context.close();
  });

  it("shows a running command's log line by line, streams apart and ANSI colours rendered", async () => {
    // Prepare
    const { page, context } = await signedIn();
    const id = await startCommand(
      t.stack,
      worker.name,
      'shell',
      shell(
        "printf '\\033[31mred text\\033[0m\\n'; echo oops >&2; for i in 1 2 3; do echo step $i; sleep 1; done",
      ),
    );

    // Act
    await page.evaluate(`location.hash = ${JSON.stringify(`#/commands/${id}`)}`);

    // Assess
    const log = page.locator('pre.log');
    await log.getByText('step 1').waitFor({ timeout: 10_000 });
    const early = await log.innerText();
    assert.doesNotMatch(early, /step 3/, 'the first line shows before the last is written');
    await log.getByText('step 3').waitFor({ timeout: 10_000 });
    await page.locator('.badge-success').waitFor({ timeout: 10_000 });
    assert.match(await page.locator('pre.log .log-stderr').first().innerText(), /oops/);
    assert.equal(
      await log
        .getByText('red text', { exact: true })
        .evaluate((span) => (span as unknown as { style: { color: string } }).style.color),
      'rgb(205, 49, 49)',
    );
    const stdout = await page.locator('pre.log .log-stdout').allTextContents();
    assert.match(stdout.join(''), /red text\nstep 1\nstep 2\nstep 3\n/);
    await screenshot(page, 'command-log');
    await context.close();
  });

  it('follows a command over push when the stack serves it, the token offered as a subprotocol and never in the URL', async (test) => {
    const pushUrl = t.stack.env.BBS_PUSH_URL;
    if (!pushUrl) return test.skip('this stack serves no push API (BBS_PUSH_URL unset): the page polls');
    // Prepare
    const { page, context } = await signedIn();
    const sockets: { url: string; frames: string[] }[] = [];
    /** When the first frame carrying the line came (Date.now() in this process). */
    let linePushedAt: number | undefined;
    page.on('websocket', (socket) => {
      const seen = { url: socket.url(), frames: [] as string[] };
      sockets.push(seen);
      socket.on('framereceived', (frame) => {
        const payload = String(frame.payload);
        seen.frames.push(payload);
        if (linePushedAt === undefined && payload.includes('pushed\\n')) linePushedAt = Date.now();
      });
    });
    // The handshake's headers, which playwright's WebSocket does not show: from Chromium's own network events.
    const handshakes = new Map<string, { url?: string; offered?: string; chosen?: string }>();
    const handshake = (requestId: string) => {
      const entry = handshakes.get(requestId) ?? {};
      handshakes.set(requestId, entry);
      return entry;
    };
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    cdp.on('Network.webSocketCreated', (event) => {
      handshake(event.requestId).url = event.url;
    });
    cdp.on('Network.webSocketWillSendHandshakeRequest', (event) => {
      const headers = event.request.headers as Record<string, string>;
      handshake(event.requestId).offered = headerOf(headers, 'sec-websocket-protocol');
    });
    cdp.on('Network.webSocketHandshakeResponseReceived', (event) => {
      const headers = event.response.headers as Record<string, string>;
      handshake(event.requestId).chosen = headerOf(headers, 'sec-websocket-protocol');
    });
    // Long enough before the line for the reloaded page to have subscribed, so the line comes over push.
    const id = await startCommand(t.stack, worker.name, 'shell', shell('sleep 3; echo pushed'));

    // Act: the page again (the token stays in sessionStorage), now watched from its first socket on.
    await page.evaluate(`location.hash = ${JSON.stringify(`#/commands/${id}`)}`);
    await page.reload();

    // Assess
    await page.locator('pre.log .log-stdout', { hasText: 'pushed' }).waitFor({ timeout: 10_000 });
    const lineShownAt = Date.now();
    await page.locator('.badge-success').waitFor({ timeout: 10_000 });
    assert.equal(sockets.length, 1, 'one socket for the page');
    assert.equal(sockets[0]!.url, pushUrl);
    assert.doesNotMatch(sockets[0]!.url, new RegExp(t.stack.tokens.client));
    const types = sockets[0]!.frames.map((frame) => (JSON.parse(frame) as { type: string }).type);
    assert.ok(types.includes('subscribed'), `frames: ${types.join(', ')}`);
    assert.ok(types.includes('status') || types.includes('updates'), `frames: ${types.join(', ')}`);
    // The frame wakes the log's read: the line shows well inside the 5 s safety-net poll (PUSHED_POLL_MS).
    assert.ok(linePushedAt !== undefined, `a frame carried the line: ${sockets[0]!.frames.join(' | ')}`);
    assert.ok(
      lineShownAt - linePushedAt < 1_500,
      `the line showed ${lineShownAt - linePushedAt} ms after its frame, as the poll would, not the push`,
    );
    // The token rides as a subprotocol beside bbs.v1, and the server answers with bbs.v1 alone.
    // Only sockets created after Network.enable have a url: an event about the page's socket from before the
    // reload (its handshake's answer, say) is not the reloaded page's.
    const opened = [...handshakes.values()].filter((entry) => entry.url !== undefined);
    assert.equal(opened.length, 1, `one handshake: ${JSON.stringify([...handshakes.values()])}`);
    const [shake] = opened as [{ url?: string; offered?: string; chosen?: string }];
    assert.equal(shake.url, pushUrl);
    const offered = (shake.offered ?? '').split(',').map((name) => name.trim());
    assert.ok(offered.includes('bbs.v1'), `offered: ${shake.offered}`);
    assert.ok(offered.includes(`bbs.token.${t.stack.tokens.client}`), 'the token offered as a subprotocol');
    assert.equal(shake.chosen, 'bbs.v1');
    await context.close();
  });

  it('falls back to polling when the push socket cannot open: the log still follows', async () => {
    // Prepare: every WebSocket the page opens is closed at once (a proxy that refuses them, say)
    const { page, context } = await signedIn();
    await page.routeWebSocket(/./, (socket) => socket.close());
    const id = await startCommand(
      t.stack,
      worker.name,
      'shell',
      shell('for i in 1 2; do echo polled $i; sleep 1; done'),
    );

    // Act
    await page.evaluate(`location.hash = ${JSON.stringify(`#/commands/${id}`)}`);
    await page.reload();

    // Assess
    await page.locator('pre.log .log-stdout', { hasText: 'polled 2' }).waitFor({ timeout: 10_000 });
    await page.locator('.badge-success').waitFor({ timeout: 10_000 });
    await context.close();
  });

  it('interrupts a running command from the page: it ends CANCELLED', async () => {
    // Prepare
    const id = await startCommand(t.stack, worker.name, 'shell', shell('echo started; sleep 600'));
    const { page, context } = await signedIn(`#/commands/${id}`, 390);
    await page.locator('pre.log .log-stdout', { hasText: 'started' }).waitFor({ timeout: 10_000 });

    // Act: from the keyboard
    await page.getByRole('button', { name: 'Interrupt' }).focus();
    await page.keyboard.press('Enter');

    // Assess
    await page.locator('.badge-cancelled').waitFor({ timeout: 15_000 });
    const view = await waitForCommand(t.stack, id);
    assert.equal(view.results, 6);
    await screenshot(page, 'interrupted-phone');
    await context.close();
  });

  it("lists the workers with their presence, and a worker's registered commands and info once opened", async () => {
    // Prepare
    const { page, context } = await signedIn('#/workers');
    const item = page.locator(`li[data-worker="${worker.name}"]`);
    await item.waitFor({ timeout: 10_000 });

    // Act
    await item.getByText('Commands and worker info').click();

    // Assess
    assert.match(await item.locator('.badge').first().innerText(), /online/);
    const commands = item.locator('.worker-commands');
    await commands.waitFor({ timeout: 10_000 });
    assert.match(await commands.innerText(), /\bshell\b/);
    await screenshot(page, 'workers');
    await context.close();
  });

  it("shows each worker's last result from State, asking each object's id once however often it polls", async () => {
    // Prepare
    const { page, context, requests } = await signedIn();

    // Act
    await page.goto(`${t.stack.apiUrl}/#/state`);
    await page.locator('details summary', { hasText: worker.name }).first().waitFor({ timeout: 10_000 });
    await page.waitForTimeout(2_000);

    // Assess
    const paths = requests.map((request) => new URL(request.url).pathname);
    const idLookups = paths.filter((path) => path === '/v1/objects');
    const stateReads = paths.filter((path) => /^\/v1\/objects\/\d+\/state\//.test(path));
    assert.ok(idLookups.length > 0, 'the ids are looked up');
    assert.equal(idLookups.length, new Set(stateReads).size, 'one id lookup per object, not per poll');
    assert.ok(stateReads.length > idLookups.length, `several polls: ${stateReads.length} state reads`);
    await screenshot(page, 'state');
    await context.close();
  });

  it("opens a command's artifact through a presigned URL the page asks for with its token", async () => {
    // Prepare
    await writeFile(path.join(worker.proc.basedir, 'report.txt'), 'the artifact body\n');
    const id = await startCommand(t.stack, worker.name, 'uploadFile', {
      workersrc: 'report.txt',
      workdir: '.',
    });
    await waitForCommand(t.stack, id);
    const { page, context } = await signedIn(`#/commands/${id}`);
    const open = page.getByRole('button', { name: 'Open report.txt' });
    await open.waitFor({ timeout: 10_000 });

    // Act
    const [popup] = await Promise.all([context.waitForEvent('page'), open.click()]);

    // Assess
    const link = page.locator('a.artifact-link');
    await link.waitFor();
    const href = (await link.getAttribute('href'))!;
    assert.doesNotMatch(href, new RegExp(t.stack.tokens.client));
    const fetched = await fetch(href);
    assert.equal(await fetched.text(), 'the artifact body\n');
    await popup.waitForURL(/report\.txt/, { timeout: 10_000 }).catch(() => undefined);
    await screenshot(page, 'artifact');
    await context.close();
  });

  // Last: it registers over a page of workers, which the State test's first 20 would not hold.
  it('shows the workers past the first 100 when asked: "Show 100 more workers"', async () => {
    // Prepare: over 100 workers registered, the newest after the first page
    const registered: string[] = [];
    for (let i = 0; i < 101; i++) registered.push((await registerWorker(t.stack, 'many')).name);
    const newest = registered.at(-1)!;
    const { page, context } = await signedIn('#/workers');
    await page.locator('li[data-worker]').first().waitFor({ timeout: 10_000 });
    const before = await page.locator(`li[data-worker="${newest}"]`).count();

    // Act
    await page.getByRole('button', { name: 'Show 100 more workers' }).click();

    // Assess
    await page.locator(`li[data-worker="${newest}"]`).waitFor({ timeout: 10_000 });
    assert.equal(before, 0, 'the newest worker is past the first page');
    assert.ok((await page.locator('li[data-worker]').count()) > 100);
    await context.close();
  });
});
