/** The text of `bbs help [SUBCOMMAND]`; docs/cli.md says the same at length. */
import * as ENV from '../shared/config.ts';

const CONNECTION = `Connection (every subcommand but help):
  --api-url URL   the API's base URL              (or ${ENV.apiUrl}; npm start prints it)
  --token TOKEN   a client token (admin for none) (or ${ENV.token}; npm start prints one)
With neither, bbs reaches the stack npm start runs on this machine (it records its URL and tokens in
$XDG_CONFIG_HOME or ~/.config, buildbot-serverless/local.json, readable only by you).`;

export const HELP: Record<string, string> = {
  bbs: `bbs: run and inspect Buildbot remote commands through the buildbot-serverless API

Usage: bbs SUBCOMMAND [options]

  run [--worker W] [--workdir D] [--env K=V]... [--logfile N=F]... [...] -- COMMAND...
                                   run a shell command on a worker, output live, exit with its rc
  cp [-r] [-d D] SRC DEST          copy a file (-r: a directory from a worker) to or from WORKER:PATH
  status [--json] ID               show one command
  logs [-f] ID [NAME]              print a command's log (NAME defaults to stdio); -f follows it
  interrupt ID [WHY]               interrupt a command
  list [--worker W] [--status S] [--limit N] [--cursor C] [--json]
                                   list a worker's commands, newest first
  state get OBJECTID NAME          print a state value as JSON
  state set OBJECTID NAME JSON     store a state value
  state id NAME CLASSNAME          print the object id of (NAME, CLASSNAME)
  workers [--limit N] [--cursor C] [--json]
                                   list the registered workers and their presence
  worker register|rotate|delete NAME [--json]
                                   register a worker (its token shown once), give it a new
                                   token, or remove it (admin token: ${ENV.adminToken})
  worker --api-url URL --name NAME --token TOKEN --basedir DIR [--concurrency N]
                                   run a worker agent on this machine
  help [SUBCOMMAND]                this text, or one subcommand's
  version, --version               print bbs's version

${CONNECTION}

Exit status: 0 ok; bbs run: the command's rc, 1 FAILURE without rc, 2 EXCEPTION, 75 RETRY,
130 interrupted; 64 usage error; 69 API unreachable or refusing. See docs/cli.md.`,

  cp: `Usage: bbs cp [options] SRC DEST

Copies between this machine and a worker; WORKER:PATH names a path on a worker (as scp, docker cp and
kubectl cp write it), anything else is local. The bytes go through S3 on presigned URLs.
  bbs cp w1:out/app.tar.gz .       uploadFile on w1, then download (sha256 checked)
  bbs cp ./config.json w1:conf/    upload a blob, then downloadFile on w1 (a trailing / keeps the name)
  bbs cp -r w1:out ./out           uploadDirectory (gz) on w1, unpacked here with tar
  -r, --recursive      copy a directory from the worker
  -d, --workdir D      the worker path's directory inside its basedir (default: the basedir)
  -q, --quiet          no progress bar (shown only on a terminal)
Exit status as bbs run's: the transfer's rc (1: maxsize exceeded, or the file cannot be opened).`,

  run: `Usage: bbs run [options] -- COMMAND...

Runs COMMAND with the worker's 'shell' command and writes its stdout to stdout and its stderr to stderr
as it arrives. Several words run as an argv list; one word runs through /bin/sh -c.
  -w, --worker W       the worker (default: ${ENV.worker}, else 'local')
  -d, --workdir D      directory inside the worker's basedir (default: the basedir)
      --timeout S      kill the command after S seconds without output
      --max-time S     kill the command after S seconds in all
  -e, --env K=V        set an environment variable (repeatable)
      --logfile N=F    follow file F (in the workdir) as log N: bbs logs ID N (repeatable)
  -v, --verbose        also print the worker's headers to stderr
  -q, --quiet          do not print 'started ID on WORKER' (nor why a queued command waits) to stderr
  -n, --no-stdin       do not forward piped stdin (a terminal is never read)
Piped stdin is sent as the command's initial_stdin, as text, within the 64 KiB (65,536 bytes) of JSON
that a command's args may take. Options of COMMAND itself go after --: bbs run -- ls -la.
Ctrl-C interrupts the remote command and waits for its end; a second Ctrl-C stops waiting.
Exit status: the command's rc (0-255); 1 FAILURE without rc; 2 EXCEPTION (start_error, finish_error,
undeliverable); 75 RETRY (worker_lost, worker_lost_before_start, start_timeout); 130 interrupted.

${CONNECTION}`,

  status: `Usage: bbs status [--json] ID

Shows the command's status, results, rc, failure and times.

${CONNECTION}`,

  logs: `Usage: bbs logs [-f] ID [NAME]

Prints log NAME of the command (default stdio: stdout, stderr and headers in arrival order).
  -f, --follow   keep printing as the log grows until the command is complete (Ctrl-C stops reading only)

${CONNECTION}`,

  interrupt: `Usage: bbs interrupt ID [WHY]

Interrupts the command: a queued one ends at once as CANCELLED, a running one is stopped by its worker.

${CONNECTION}`,

  list: `Usage: bbs list [--worker W] [--status queued|running|complete] [--limit N] [--cursor C] [--json]

Lists one page of a worker's commands, newest first (W: ${ENV.worker}, else 'local'; N: 1-100, default 50).
When there are more, stderr says the --cursor that reads the next page.

${CONNECTION}`,

  state: `Usage: bbs state get OBJECTID NAME
       bbs state set OBJECTID NAME JSON
       bbs state id NAME CLASSNAME

Reads and writes the state connector's per-object JSON values. JSON is one argument: quote it for the
shell, e.g. bbs state set 1 lastRev '"abc123"' or bbs state set 1 counts '{"a": 1}'.

${CONNECTION}`,

  worker: `Usage: bbs worker register NAME [--json]   register NAME: its queue, and a token shown once
       bbs worker rotate NAME [--json]     give NAME a new token; the old one stops working
       bbs worker delete NAME              remove NAME, its token and its queue
       bbs worker --api-url URL --name NAME --token TOKEN --basedir DIR [--concurrency N]
                  [--buffer-bytes N] [--buffer-ms N] [--interrupt-on-shutdown]
                  [--engine native|buildbot-worker [--buildbot-worker PATH]]

Runs a worker agent: it long-polls its queue and runs commands inside DIR. TOKEN is the worker's own
token (bbs worker register shows it once); ${ENV.workerToken} may carry it instead, ${ENV.apiUrl} the URL.
Nothing else is needed: its heartbeat hands it credentials for its own queue. SIGTERM or Ctrl-C stops it after the running
commands; a second one interrupts them. Exit status: 0 after a stop, 2 on a usage error.

register, rotate and delete need an admin token: --token, else ${ENV.adminToken} (npm start exports it),
else ${ENV.token}.`,

  workers: `Usage: bbs workers [--limit N] [--cursor C] [--json]

Lists one page of the registered workers, oldest first: presence (online when it heartbeated within
30 s), RUNNING as running/concurrency, when it was last seen, its version. An admin or client token.
When there are more, stderr says the --cursor that reads the next page.

${CONNECTION}`,

  help: `Usage: bbs help [SUBCOMMAND]`,
};
