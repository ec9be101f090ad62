// Files another file names (a saved plan names its runbook and inventory; the plan file itself)
// are read only when they are regular files of a bounded size: `runbook.file: /dev/zero` in an
// edited plan must not read forever, a FIFO must not block the open, a 600 MB plan must not end in
// "Cannot create a string longer than ...". stat() first (it does not block on a FIFO), then at
// most `limit + 1` bytes are read, so a file that grows in between is caught too.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

export type BoundedRead = { text: string } | { problem: string };

/** Why `path` may not be read as a text file of at most `limit` bytes, or undefined. */
export function regularFileProblem(path: string, limit: number): string | undefined {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? 'error'})`;
  }
  if (!stat.isFile()) return 'is not a regular file';
  if (stat.size > limit) return `is ${stat.size} bytes; the limit is ${limit} bytes`;
  return undefined;
}

/** The UTF-8 text of a regular file of at most `limit` bytes, or why not. */
export function readRegularFile(path: string, limit: number): BoundedRead {
  const problem = regularFileProblem(path, limit);
  if (problem) return { problem };
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return { problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  try {
    if (!fstatSync(fd).isFile()) return { problem: 'is not a regular file' };
    const buf = Buffer.alloc(limit + 1);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    if (got > limit) return { problem: `is more than ${limit} bytes; the limit is ${limit} bytes` };
    return { text: buf.subarray(0, got).toString('utf8') };
  } catch (error) {
    return { problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  } finally {
    closeSync(fd);
  }
}
