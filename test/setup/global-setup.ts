// Once per `npm test`: install the Debian test peers when missing, clear the test logs, and at the end prove
// that no fixture patient name or ID reached any gateway log.
import { rmSync, mkdirSync } from 'node:fs';
import { ensureTestPeers } from './peers.js';
import { TEST_LOG_DIR } from '../helpers/paths.js';
import { findPhiInLogs } from './phi-scan.js';

export default async function setup(): Promise<() => void> {
  ensureTestPeers();
  rmSync(TEST_LOG_DIR, { recursive: true, force: true });
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  return () => {
    const hits = findPhiInLogs(TEST_LOG_DIR);
    if (hits.length > 0) {
      // vitest reports a teardown error but keeps exit code 0; the run must fail, so set it ourselves.
      console.error(`FAIL log privacy: patient names or IDs found in gateway logs:\n${hits.slice(0, 20).join('\n')}`);
      process.exitCode = 1;
    } else {
      console.log('[test teardown] log privacy: no fixture patient name or ID in any gateway log');
    }
  };
}
