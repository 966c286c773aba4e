// Entry of the inference worker thread. Worker threads do not inherit tsx from the main thread, so register it
// here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./inference-worker.ts');
