// The state connector's HTTP face: POST /v1/objects and GET|PUT /v1/objects/{objectId}/state/{name}, and its create.
import { requireRole } from '../shared/auth/tokens.ts';
import { ROLES } from '../shared/auth/types.ts';
import { StateConnector } from '../shared/state/StateConnector.ts';
import {
  createStateRequest,
  objectIdRequest,
  parseObjectIdParam,
  parseStateDefault,
  parseWritableStateName,
  setStateRequest,
  stateNameParam,
} from '../shared/state/wire.ts';
import { parse } from '../shared/schema.ts';
import type { CreateStateResponse, ObjectIdResponse, StateValueResponse } from '../shared/state/wire.ts';
import { httpRouter } from './lib/http.ts';
import type { HttpRequest } from './lib/http.ts';

/** The HTTP face of the state connector (docs/state.md) for services outside the deployment. */
function state(): StateConnector {
  // The invocation's table; one connector per table, so its id cache outlives the invocation.
  return StateConnector.forEnv();
}

/** `write`: a PUT or create, which may not name a service-written state (SERVICE_STATE_PREFIX). */
function stateAddress(request: HttpRequest, write = false): { objectId: number; name: string } {
  requireRole(request.principal, ROLES.client, ROLES.admin);
  return {
    objectId: parseObjectIdParam(request.params.objectId),
    name: write
      ? parseWritableStateName(request.params.name)
      : parse(stateNameParam, request.params.name, 'name'),
  };
}

export const handler = httpRouter({
  'POST /v1/objects': async (request) => {
    requireRole(request.principal, ROLES.client, ROLES.admin);
    const { name, className } = parse(objectIdRequest, request.body);
    const body: ObjectIdResponse = { objectId: await state().getObjectId(name, className) };
    return { statusCode: 200, body };
  },

  'GET /v1/objects/{objectId}/state/{name}': async (request) => {
    const { objectId, name } = stateAddress(request);
    const fallback = parseStateDefault(request.query);
    // Two calls, not one with `undefined`: the argument count is what tells "no default" (404) from a default.
    const value = fallback.given
      ? await state().getState(objectId, name, fallback.value)
      : await state().getState(objectId, name);
    const body: StateValueResponse = { value };
    return { statusCode: 200, body };
  },

  'PUT /v1/objects/{objectId}/state/{name}': async (request) => {
    const { objectId, name } = stateAddress(request, true);
    const { value } = parse(setStateRequest, request.body);
    const body: StateValueResponse = { value: await state().setState(objectId, name, value) };
    return { statusCode: 200, body };
  },

  'POST /v1/objects/{objectId}/state/{name}/create': async (request) => {
    const { objectId, name } = stateAddress(request, true);
    const { value } = parse(createStateRequest, request.body);
    const body: CreateStateResponse = await state().atomicCreateStateOutcome(objectId, name, () => value);
    return { statusCode: body.created ? 201 : 200, body };
  },
});
