import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { E2eServer } from './global-setup';

// Stops the servers global-setup started and removes their databases.
export default async function globalTeardown(): Promise<void> {
  for (const db of ['SQLITE', 'POSTGRES']) {
    const json = process.env[`TABLECARD_E2E_${db}`];
    if (!json) continue;
    const server: E2eServer = JSON.parse(json);
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 300));
    rmSync(server.dir, { recursive: true, force: true });
    if (server.schema && process.env.TABLECARD_TEST_POSTGRES_URL) {
      execFileSync('psql', [process.env.TABLECARD_TEST_POSTGRES_URL, '-qc', `DROP SCHEMA ${server.schema} CASCADE`], {
        stdio: 'pipe',
      });
    }
  }
}
