// The same commands through our worker and an unmodified buildbot-worker, compared field by field; docs/conformance.md lists what differs and why.
import { CASES } from './cases.ts';
import { conformanceSuite } from './suite.ts';

// The transfers are in transfers.test.ts (npm test gives a file 300 s).
conformanceSuite('conformance of our worker with buildbot-worker 3.7', 'commands', CASES, true);
