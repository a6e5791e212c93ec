/** The scheduled watchdog (every minute on AWS, every second locally): ends overdue commands, re-sends pending events. */
import { commandsContextFromEnv } from '../shared/commands/context.ts';
import { runWatchdog } from '../shared/commands/watchdog.ts';
import type { WatchdogReport } from '../shared/commands/watchdog.ts';
import { logger } from '../shared/observability.ts';
import { observed } from './lib/lambda.ts';

export const handler = observed(async function watchdogHandler(): Promise<WatchdogReport> {
  const report = await runWatchdog(commandsContextFromEnv());
  // Only runs that changed something: locally the watchdog runs every second, and settled commands are
  // examined on every run until the cursor passes them.
  const acted = Object.keys(report.ended).length > 0 || report.resent > 0 || report.extended > 0;
  if (acted) logger.info('watchdog', { ...report });
  return report;
});
