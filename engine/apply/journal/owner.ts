// Who owns a run, as its journal and its run lock record it (user, host, pid), and whether an
// owner on this host is still running.
import { userInfo } from 'node:os';

/** This process's user name; $USER where the system has no entry for the uid. */
export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** Whether a process with this pid runs on this host (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
