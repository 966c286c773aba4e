// Where tests find their material. ../shared sits beside the repository (public data and interop files).
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/project-root.js';

export const TEST_LOG_DIR = path.join(PROJECT_ROOT, 'tmp', 'test-logs');
export const SHARED_DIR = path.resolve(PROJECT_ROOT, '..', 'shared');
export const FIXTURES_DIR = path.join(PROJECT_ROOT, 'fixtures');
