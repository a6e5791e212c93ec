/** The scheduled watchdog (every minute on AWS, every second locally): ends overdue commands, re-sends pending events. */
import { commandsContextFromEnv } from '../shared/commands/context.ts';
import { runWatchdog } from '../shared/commands/watchdog.ts';
import type { WatchdogReport } from '../shared/commands/watchdogTypes.ts';
import { logger } from '../shared/observability.ts';
import { observed } from './lib/lambda.ts';

export const handler = observed(async function watchdogHandler(_event, context): Promise<WatchdogReport> {
  // The run reads pages until it has used its budget or RUN_MARGIN_MS before the function's timeout.
  const report = await runWatchdog(commandsContextFromEnv(), undefined, {
    remainingMs: context ? () => context.getRemainingTimeInMillis() : undefined,
  });
  // Only runs that changed something, or that fell behind: locally the watchdog runs every second, and
  // settled commands are examined on every run until the cursor passes them.
  const acted = Object.keys(report.ended).length > 0 || report.resent > 0 || report.extended > 0;
  if (acted || !report.exhausted) {
    const { shards: _shards, ...totals } = report;
    logger.info('watchdog', { ...totals });
  }
  return report;
});
