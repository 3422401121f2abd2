/**
 * Usage history in the auth dir: `cliproxy-usage.json` (not a `codex-*.json` name, so the
 * account store ignores it), written atomically with mode 0600.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { UsageBucket, UsagePersistence } from './tracker.js';

export const USAGE_FILE_NAME = 'cliproxy-usage.json';

function isBucket(v: unknown): v is UsageBucket {
  if (typeof v !== 'object' || v === null) return false;
  const b = v as Record<string, unknown>;
  return (
    typeof b.start === 'number' &&
    typeof b.accountId === 'string' &&
    typeof b.model === 'string' &&
    ['requests', 'inputTokens', 'outputTokens', 'errors'].every((k) => typeof b[k] === 'number' && Number.isFinite(b[k]) && (b[k] as number) >= 0)
  );
}

export class FileUsagePersistence implements UsagePersistence {
  readonly file: string;
  readonly description: string;

  constructor(dir: string) {
    this.file = path.join(dir, USAGE_FILE_NAME);
    this.description = this.file;
  }

  async load(): Promise<UsageBucket[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const parsed = JSON.parse(text) as { buckets?: unknown };
    if (!Array.isArray(parsed.buckets)) throw new Error(`${this.file}: no "buckets" list`);
    return parsed.buckets.filter(isBucket);
  }

  async save(all: UsageBucket[]): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, buckets: all })}\n`, { mode: 0o600 });
  }
}
