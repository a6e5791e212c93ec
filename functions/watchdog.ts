import { commandsContextFromEnv } from '../shared/commands/context.ts';
import { runWatchdog } from '../shared/commands/watchdog.ts';
import type { WatchdogReport } from '../shared/commands/watchdog.ts';

/** Scheduled (every minute on AWS, every second locally): ends overdue commands, re-sends pending events. */
export async function handler(): Promise<WatchdogReport> {
  const report = await runWatchdog(commandsContextFromEnv());
  if (report.examined > 0) console.log(JSON.stringify({ level: 'info', msg: 'watchdog', ...report }));
  return report;
}
