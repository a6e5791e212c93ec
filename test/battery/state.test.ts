// The bad-input battery of the state routes: each answers its 4xx, and a fresh state value stays missing.
import * as LIMITS from '../../shared/limits.ts';
import { MALFORMED, long, rawJson } from './battery.ts';
import type { Body, Caller, HttpCase } from './battery.ts';
import { FORBIDDEN, INVALID, adminBattery, statePath } from './adminBattery.ts';
import type { Fixture } from './adminBattery.ts';

const battery = adminBattery();

function put(body: Body | undefined, as: Caller = 'client', path?: (f: Fixture) => string) {
  return (f: Fixture) => ({ as, method: 'PUT', path: path ? path(f) : statePath(f), body });
}

function create(body: Body | undefined, as: Caller = 'client', path?: (f: Fixture) => string) {
  return (f: Fixture) => ({ as, method: 'POST', path: `${path ? path(f) : statePath(f)}/create`, body });
}

function objects(body: Body, as: Caller = 'client') {
  return { as, method: 'POST', path: '/v1/objects', body };
}

export const STATE_CASES: HttpCase<Fixture>[] = [
  { name: 'an object id request with malformed JSON', request: () => objects(MALFORMED), ...INVALID },
  {
    name: 'an object id request with no className',
    request: () => objects({ json: { name: 'n' } }),
    ...INVALID,
  },
  {
    name: 'an object id request whose name is a number',
    request: () => objects({ json: { name: 1, className: 'C' } }),
    ...INVALID,
  },
  {
    name: 'an object id request with an empty name',
    request: () => objects({ json: { name: '', className: 'C' } }),
    ...INVALID,
  },
  {
    name: `an object id request with a name over ${LIMITS.stateNameLength} characters`,
    request: () => objects({ json: { name: long(LIMITS.stateNameLength + 1), className: 'C' } }),
    ...INVALID,
  },
  {
    name: 'an object id request with an unknown field',
    request: () => objects({ json: { name: 'n', className: 'C', objectId: 1 } }),
    ...INVALID,
  },
  {
    name: 'an object id request with __proto__ as a key',
    request: () => objects(rawJson('{"name":"n","className":"C","__proto__":{"objectId":1}}')),
    ...INVALID,
  },
  {
    name: 'an object id request as a worker',
    request: () => objects({ json: { name: 'n', className: 'C' } }, 'worker'),
    ...FORBIDDEN,
  },
  {
    name: `an object id request over ${LIMITS.clientBodyBytes} bytes`,
    request: () => objects({ json: { name: 'n', className: 'C', pad: long(LIMITS.clientBodyBytes + 10) } }),
    status: 413,
    code: 'payload_too_large',
  },
  { name: 'a setState with malformed JSON', request: put(MALFORMED), ...INVALID },
  { name: 'a setState with no value', request: put({ json: {} }), ...INVALID },
  { name: 'a setState with an unknown field', request: put({ json: { value: 1, ttl: 5 } }), ...INVALID },
  {
    name: 'a setState with __proto__ as a key',
    request: put(rawJson('{"__proto__":{"value":1}}')),
    ...INVALID,
  },
  {
    name: 'a setState with constructor beside value',
    request: put(rawJson('{"value":1,"constructor":1}')),
    ...INVALID,
  },
  { name: 'a setState as a JSON array', request: put({ json: [1] }), ...INVALID },
  {
    name: 'a setState on object id 0',
    request: put({ json: { value: 1 } }, 'client', (f) => statePath(f, 0)),
    ...INVALID,
  },
  {
    name: 'a setState on object id abc',
    request: put({ json: { value: 1 } }, 'client', (f) => statePath(f, 'abc')),
    ...INVALID,
  },
  {
    name: 'a setState on an object id of 17 digits',
    request: put({ json: { value: 1 } }, 'client', (f) => statePath(f, '1'.repeat(17))),
    ...INVALID,
  },
  {
    name: `a setState of a name over ${LIMITS.stateNameLength} characters`,
    request: put({ json: { value: 1 } }, 'client', (f) =>
      statePath(f, f.objectId, long(LIMITS.stateNameLength + 1)),
    ),
    ...INVALID,
  },
  { name: 'a setState as a worker', request: put({ json: { value: 1 } }, 'worker'), ...FORBIDDEN },
  { name: 'a setState with no token', request: put({ json: { value: 1 } }, 'none'), status: 401 },
  {
    name: 'a setState with an unknown token',
    request: put({ json: { value: 1 } }, 'unknown'),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: `a setState over ${LIMITS.clientBodyBytes} bytes`,
    request: put({ json: { value: long(LIMITS.clientBodyBytes + 10) } }),
    status: 413,
    code: 'payload_too_large',
  },
  { name: 'a create with malformed JSON', request: create(MALFORMED), ...INVALID },
  { name: 'a create with no value', request: create({ json: {} }), ...INVALID },
  {
    name: 'a create with an unknown field',
    request: create({ json: { value: 1, ifAbsent: true } }),
    ...INVALID,
  },
  {
    name: 'a create with __proto__ as a key',
    request: create(rawJson('{"value":1,"__proto__":{"created":true}}')),
    ...INVALID,
  },
  {
    name: 'a create on object id -1',
    request: create({ json: { value: 1 } }, 'client', (f) => statePath(f, -1)),
    ...INVALID,
  },
  {
    name: `a create of a value over ${LIMITS.stateValueBytes} bytes`,
    request: create({ json: { value: long(LIMITS.stateValueBytes + 10) } }),
    status: 413,
    code: 'state_value_too_large',
  },
  { name: 'a create as a worker', request: create({ json: { value: 1 } }, 'worker'), ...FORBIDDEN },
  { name: 'a create with no token', request: create({ json: { value: 1 } }, 'none'), status: 401 },
  {
    name: 'a read of state on object id 0',
    request: (f) => ({ as: 'client', method: 'GET', path: statePath(f, 0) }),
    ...INVALID,
  },
  {
    name: 'a read of state as a worker',
    request: (f) => ({ as: 'worker', method: 'GET', path: statePath(f) }),
    ...FORBIDDEN,
  },
];

battery('the bad-input battery: state', STATE_CASES);
