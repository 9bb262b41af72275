export default async function globalTeardown(): Promise<void> {
  const pid = Number(process.env.TABLECARD_E2E_PID);
  if (pid) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}
