import type { Config } from '../config/schema.js';
import { Gateway } from '../gateway.js';

export async function runServe(config: Config): Promise<void> {
  const gateway = await Gateway.start(config);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    gateway.ctx.logger.info({ signal }, 'stopping');
    await gateway.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // Tests and supervisors read the bound ports from this line (ports may be 0 = ephemeral in the config).
  console.error(JSON.stringify({ ophgate: 'listening', http: gateway.httpPort, dimse: gateway.dimsePort ?? null, pid: process.pid }));
}
