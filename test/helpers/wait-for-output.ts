import type { ChildProcess } from 'node:child_process';

/**
 * Resolves once the child has written `text` to stdout (synchronised on the output itself, not on a
 * sleep); rejects, with what it wrote, if it closes its output (exits) first. The test's own timeout bounds the wait.
 */
export function waitForOutput(child: ChildProcess, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        cleanup();
        resolve(seen);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`the process exited (${code ?? signal ?? '?'}) before writing ${JSON.stringify(text)}; it wrote: ${seen.slice(-500)}`));
    };
    const cleanup = (): void => {
      child.stdout?.off('data', onData);
      child.off('close', onExit);
    };
    child.stdout?.on('data', onData);
    child.once('close', onExit);
  });
}
