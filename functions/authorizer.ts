// Lambda authorizer of the HTTP API: resolves a bearer token to a role, a worker and a caller id.
import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { authorizeBearer } from '../shared/auth/authorize.ts';
import type { AuthorizerContext } from '../shared/auth/types.ts';

/**
 * HTTP API Lambda authorizer (simple responses). It always authorizes and passes the resolved role on;
 * an unknown token gets role '' so the route answers 401 itself. (A refusal here would surface as 403
 * on AWS, and a wrong token is a 401, not a 403.)
 */
export async function handler(
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext | { role: ''; worker: '' }>> {
  const header = event.headers?.authorization ?? event.identitySource?.[0];
  return { isAuthorized: true, context: await authorizeBearer(header) };
}
