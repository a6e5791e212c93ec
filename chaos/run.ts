// `npm run chaos [-- flags]`: runs the chaos suite or the soak, prints the figures, writes JSON, exits non-zero on a loss.
import { parseArgs } from 'node:util';
import * as ENV from '../shared/config.ts';
import { FAULT_NAMES } from './faults.ts';
import type { FaultName } from './faults.ts';
import { formatReport, writeReport } from './report.ts';
import { runChaos } from './scenario.ts';
import { CHAOS_DIR } from './session.ts';
import { runSoak } from './soak.ts';

const USAGE = `usage: npm run chaos -- [--seconds N] [--workers N] [--concurrency N] [--rate N] [--lines N]
                       [--faults a,b,...] [--no-skew] [--keep] [--verbose]
       npm run chaos -- --soak [--commands N] [--workers N] [--concurrency N] [--seconds N]
  faults: ${FAULT_NAMES.join(', ')}`;

function number(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(value > 0)) throw new Error(`${flag} must be a positive number, got '${text}'\n${USAGE}`);
  return value;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      soak: { type: 'boolean' },
      seconds: { type: 'string' },
      workers: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      lines: { type: 'string' },
      commands: { type: 'string' },
      faults: { type: 'string' },
      'no-skew': { type: 'boolean' },
      keep: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  process.env[ENV.awsSdkSuppressNodeDeprecationWarning] = '1';
  const log = values.verbose
    ? (line: string) => console.error(`${new Date().toISOString()} ${line}`)
    : (line: string) => {
        if (line.startsWith('[chaos]')) console.error(`${new Date().toISOString()} ${line}`);
      };
  const faults = values.faults?.split(',').map((name) => name.trim());
  const unknown = faults?.filter((name) => !(FAULT_NAMES as readonly string[]).includes(name));
  if (unknown && unknown.length > 0) throw new Error(`unknown faults ${unknown.join(', ')}\n${USAGE}`);
  const common = {
    workers: number(values.workers, '--workers'),
    concurrency: number(values.concurrency, '--concurrency'),
    budgetSeconds: number(values.seconds, '--seconds'),
    keep: values.keep ?? false,
    log,
  };
  const defined = <T extends object>(object: T): T =>
    Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
  const report = values.soak
    ? await runSoak(defined({ ...common, commands: number(values.commands, '--commands') }))
    : await runChaos(
        defined({
          ...common,
          rate: number(values.rate, '--rate'),
          lines: number(values.lines, '--lines'),
          faults: faults as FaultName[] | undefined,
          clockSkewMs: values['no-skew'] ? 0 : undefined,
        }),
      );
  console.log(formatReport(report));
  console.log(`  report: ${writeReport(CHAOS_DIR, report.mode, report)}`);
  if (report.failures.length > 0) {
    console.log(`FAILED: ${report.failures.join('; ')}`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`chaos failed: ${error.stack ?? error.message}`);
    process.exit(2);
  },
);
