/**
 * Bootstraps a deployment: issues an admin or client token straight into the commands table (the
 * only way to get the first admin token, since the API needs one). Needs AWS credentials that may
 * write the table, and COMMANDS_TABLE naming it. The token is printed once; only its hash is stored.
 *
 *   COMMANDS_TABLE=buildbot-serverless-prod-commands npx tsx scripts/issue-token.ts admin
 */
import { dynamoDocumentClient } from '../shared/aws/clients.ts';
import * as ENV from '../shared/config.ts';
import { requireEnv } from '../shared/env.ts';
import { TokenStore } from '../shared/auth/tokens.ts';

const role = process.argv[2];
if (role !== 'admin' && role !== 'client') {
  console.error(
    'usage: tsx scripts/issue-token.ts admin|client   (worker tokens come from POST /v1/workers)',
  );
  process.exit(64);
}
const store = new TokenStore({ client: dynamoDocumentClient(), tableName: requireEnv(ENV.commandsTable) });
const { token } = await store.issue({ role });
console.log(token);
