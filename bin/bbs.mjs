#!/usr/bin/env node
// The `bbs` command: registers tsx so that the TypeScript sources run as they are (npx bbs from a clone).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/bbs.ts');
const { processIo } = await import('../cli/io.ts');
const status = await main(process.argv.slice(2), processIo());
// Exit explicitly: an idle keep-alive socket or a stray timer must not hold the shell prompt.
process.exit(status);
