// The bad-input battery of heartbeats and worker registration and removal: each answers its 4xx and nothing is stored or changed.
import * as LIMITS from '../../shared/limits.ts';
import { MALFORMED, long, rawJson } from './battery.ts';
import type { Body, Caller, HttpCase } from './battery.ts';
import { FORBIDDEN, INVALID, adminBattery } from './adminBattery.ts';
import type { Fixture } from './adminBattery.ts';

const battery = adminBattery();

function beat(body?: Body, as: Caller = 'worker', name?: string) {
  return (f: Fixture) => ({
    as,
    method: 'POST',
    path: `/v1/workers/${name ?? f.worker.name}/heartbeat`,
    body,
  });
}

export const HEARTBEAT_CASES: HttpCase<Fixture>[] = [
  { name: 'a heartbeat with malformed JSON', request: beat(MALFORMED), ...INVALID },
  { name: 'a heartbeat with no commands', request: beat({ json: {} }), ...INVALID },
  { name: 'a heartbeat whose commands are text', request: beat({ json: { commands: 'shell' } }), ...INVALID },
  {
    name: 'a heartbeat naming a command with a space',
    request: beat({ json: { commands: ['rm -rf'] } }),
    ...INVALID,
  },
  {
    name: `a heartbeat of ${LIMITS.registeredCommands + 1} commands`,
    request: beat({
      json: { commands: Array.from({ length: LIMITS.registeredCommands + 1 }, (_, i) => `c${i}`) },
    }),
    ...INVALID,
  },
  {
    name: 'a heartbeat with concurrency 0',
    request: beat({ json: { commands: ['shell'], concurrency: 0 } }),
    ...INVALID,
  },
  {
    name: `a heartbeat with concurrency ${LIMITS.workerConcurrency + 1}`,
    request: beat({ json: { commands: ['shell'], concurrency: LIMITS.workerConcurrency + 1 } }),
    ...INVALID,
  },
  {
    name: 'a heartbeat with running -1',
    request: beat({ json: { commands: ['shell'], running: -1 } }),
    ...INVALID,
  },
  {
    name: `a heartbeat with a version over ${LIMITS.workerVersionLength} characters`,
    request: beat({ json: { commands: ['shell'], version: long(LIMITS.workerVersionLength + 1) } }),
    ...INVALID,
  },
  {
    name: 'a heartbeat with an unknown field',
    request: beat({ json: { commands: ['shell'], presence: 'online' } }),
    ...INVALID,
  },
  {
    name: 'a heartbeat with __proto__ as a key',
    request: beat(rawJson('{"commands":["shell"],"__proto__":{"concurrency":9}}')),
    ...INVALID,
  },
  {
    name: "a heartbeat for another worker's name",
    request: (f) => beat({ json: { commands: ['shell'] } }, 'worker', f.other.name)(f),
    ...FORBIDDEN,
  },
  {
    name: "a heartbeat with another worker's token",
    request: beat({ json: { commands: ['shell'] } }, 'otherWorker'),
    ...FORBIDDEN,
  },
  {
    name: 'a heartbeat as the client',
    request: beat({ json: { commands: ['shell'] } }, 'client'),
    ...FORBIDDEN,
  },
  {
    name: 'a heartbeat as the admin',
    request: beat({ json: { commands: ['shell'] } }, 'admin'),
    ...FORBIDDEN,
  },
  {
    name: 'a heartbeat with no token',
    request: beat({ json: { commands: ['shell'] } }, 'none'),
    status: 401,
  },
  {
    name: 'a heartbeat with an unknown token',
    request: beat({ json: { commands: ['shell'] } }, 'unknown'),
    status: 401,
    code: 'unauthorized',
  },
];

function register(body: Body, as: Caller = 'admin') {
  return { as, method: 'POST', path: '/v1/workers', body };
}

export const WORKER_ADMIN_CASES: HttpCase<Fixture>[] = [
  { name: 'a registration with malformed JSON', request: () => register(MALFORMED), ...INVALID },
  { name: 'a registration with no name', request: () => register({ json: {} }), ...INVALID },
  {
    name: 'a registration whose name is a number',
    request: () => register({ json: { name: 42 } }),
    ...INVALID,
  },
  { name: 'a registration of an empty name', request: () => register({ json: { name: '' } }), ...INVALID },
  {
    name: 'a registration of a name with a slash',
    request: (f) => register({ json: { name: `${f.unused}/x` } }),
    ...INVALID,
  },
  {
    name: 'a registration of a name with a space',
    request: (f) => register({ json: { name: `${f.unused} x` } }),
    ...INVALID,
  },
  {
    name: `a registration of a name over ${LIMITS.workerNameLength} characters`,
    request: () => register({ json: { name: long(LIMITS.workerNameLength + 1) } }),
    ...INVALID,
  },
  {
    name: 'a registration with rotate "yes"',
    request: (f) => register({ json: { name: f.unused, rotate: 'yes' } }),
    ...INVALID,
  },
  {
    name: 'a registration with an unknown field',
    request: (f) => register({ json: { name: f.unused, role: 'admin' } }),
    ...INVALID,
  },
  {
    name: 'a registration with __proto__ as a key',
    request: (f) => register(rawJson(`{"name":"${f.unused}","__proto__":{"role":"admin"}}`)),
    ...INVALID,
  },
  {
    name: 'a registration with constructor as a key',
    request: (f) => register(rawJson(`{"name":"${f.unused}","constructor":{"prototype":{}}}`)),
    ...INVALID,
  },
  {
    name: 'a registration as the client',
    request: (f) => register({ json: { name: f.unused } }, 'client'),
    ...FORBIDDEN,
  },
  {
    name: 'a registration as a worker',
    request: (f) => register({ json: { name: f.unused } }, 'worker'),
    ...FORBIDDEN,
  },
  {
    name: 'a registration with no token',
    request: (f) => register({ json: { name: f.unused } }, 'none'),
    status: 401,
  },
  {
    name: 'a rotation as the client',
    request: (f) => register({ json: { name: f.worker.name, rotate: true } }, 'client'),
    ...FORBIDDEN,
  },
  {
    name: 'a rotation of its own token by a worker',
    request: (f) => register({ json: { name: f.worker.name, rotate: true } }, 'worker'),
    ...FORBIDDEN,
  },
  {
    name: 'a removal as the client',
    request: (f) => ({ as: 'client', method: 'DELETE', path: `/v1/workers/${f.worker.name}` }),
    ...FORBIDDEN,
  },
  {
    name: 'a removal of itself by a worker',
    request: (f) => ({ as: 'worker', method: 'DELETE', path: `/v1/workers/${f.worker.name}` }),
    ...FORBIDDEN,
  },
  {
    name: 'a removal with no token',
    request: (f) => ({ as: 'none', method: 'DELETE', path: `/v1/workers/${f.worker.name}` }),
    status: 401,
  },
  {
    name: 'a removal of a bad name',
    request: () => ({ as: 'admin', method: 'DELETE', path: '/v1/workers/a%20b' }),
    ...INVALID,
  },
  {
    name: 'a removal of an unknown name',
    request: (f) => ({ as: 'admin', method: 'DELETE', path: `/v1/workers/${f.unused}` }),
    status: 404,
    code: 'worker_not_found',
  },
  {
    name: 'a read of a bad worker name',
    request: () => ({ as: 'admin', method: 'GET', path: `/v1/workers/${long(LIMITS.workerNameLength + 1)}` }),
    ...INVALID,
  },
  {
    name: "a read of another worker's record by a worker",
    request: (f) => ({ as: 'otherWorker', method: 'GET', path: `/v1/workers/${f.worker.name}` }),
    ...FORBIDDEN,
  },
];

battery('the bad-input battery: heartbeats', HEARTBEAT_CASES);
battery('the bad-input battery: registering and removing workers', WORKER_ADMIN_CASES);
