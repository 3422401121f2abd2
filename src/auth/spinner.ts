import type { Writable } from 'node:stream';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Prints `text` once; on a TTY it animates a spinner in front of it until stop() is called.
 * Off a TTY (pipes, logs, tests) it is a plain line.
 */
export function startSpinner(out: Writable & { isTTY?: boolean }, text: string, intervalMs = 100): { stop(final?: string): void } {
  if (!out.isTTY) {
    out.write(`${text}\n`);
    return { stop: () => undefined };
  }
  let i = 0;
  out.write(`${FRAMES[0]} ${text}`);
  const timer = setInterval(() => {
    i = (i + 1) % FRAMES.length;
    out.write(`\r${FRAMES[i]} ${text}`);
  }, intervalMs);
  timer.unref();
  let stopped = false;
  return {
    stop(final = text) {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      out.write(`\r\x1b[2K${final}\n`);
    },
  };
}
