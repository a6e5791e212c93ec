// uploadFile, uploadDirectory and downloadFile through our worker and an unmodified buildbot-worker: results, headers and the bytes that arrived.
import { TRANSFER_CASES } from './transferCases.ts';
import { conformanceSuite } from './suite.ts';

conformanceSuite('conformance of the transfers with buildbot-worker 3.7', 'transfers', TRANSFER_CASES, false);
