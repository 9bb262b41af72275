import { rmSync } from 'node:fs';

// Stops the server global-setup started and removes its database.
export default async function globalTeardown(): Promise<void> {
  const pid = Number(process.env.TABLECARD_E2E_PID);
  if (pid) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  const dir = process.env.TABLECARD_E2E_DIR;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
