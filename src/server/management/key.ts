/**
 * The management key is kept only as a scrypt hash: `scrypt$N$r$p$<salt b64url>$<hash b64url>`.
 * A plain key in config.yaml is replaced by its hash when the server starts (the file is
 * rewritten, comments kept); a plain key from CLIPROXY_MANAGEMENT_KEY is hashed in memory.
 * Checking a presented key runs scrypt (asynchronously) and compares in constant time; once a
 * key passed, its SHA-256 is remembered so later requests skip the slow hash.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { parseDocument } from 'yaml';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LEN = 32;
const HASH_RE = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/;

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export function isManagementKeyHash(value: string): boolean {
  return HASH_RE.test(value);
}

export async function hashManagementKey(key: string, salt: Buffer = randomBytes(16)): Promise<string> {
  const hash = await scrypt(key, salt, KEY_LEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** Checks presented keys against one stored hash. */
export class ManagementKeyVerifier {
  private verifiedDigest: Buffer | null = null;
  private readonly params: { n: number; r: number; p: number; salt: Buffer; hash: Buffer };

  private constructor(hash: string) {
    const m = HASH_RE.exec(hash);
    if (!m) throw new Error('not a management key hash');
    const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
    // a stored hash with absurd parameters would make every check slow or fail: refuse it at start
    if (!(n >= 1024 && n <= 1 << 20 && (n & (n - 1)) === 0 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) {
      throw new Error('remote-management.secret-key: the scrypt parameters of the stored hash are out of range (N a power of two 1024…1048576, r 1…32, p 1…16)');
    }
    this.params = { n, r, p, salt: Buffer.from(m[4]!, 'base64url'), hash: Buffer.from(m[5]!, 'base64url') };
  }

  /** From the configured value: a hash is used as it is, a plain key is hashed first. */
  static async fromConfigured(value: string): Promise<ManagementKeyVerifier> {
    return new ManagementKeyVerifier(isManagementKeyHash(value) ? value : await hashManagementKey(value));
  }

  async verify(presented: string): Promise<boolean> {
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    if (this.verifiedDigest && timingSafeEqual(digest, this.verifiedDigest)) return true;
    const { n, r, p, salt, hash } = this.params;
    const computed = await scrypt(presented, salt, hash.length, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
    const ok = computed.length === hash.length && timingSafeEqual(computed, hash);
    if (ok) this.verifiedDigest = digest;
    return ok;
  }
}

/**
 * Replaces a plain `remote-management.secret-key` in the config file by its hash (atomic
 * write, same mode, comments and layout kept). Returns the hash, or null when the file already
 * holds a hash (or no key).
 */
export async function hashKeyInConfigFile(file: string): Promise<string | null> {
  const text = await readFile(file, 'utf8');
  const doc = parseDocument(text);
  const current = doc.getIn(['remote-management', 'secret-key']);
  if (typeof current !== 'string' || isManagementKeyHash(current)) return null;
  const hash = await hashManagementKey(current);
  doc.setIn(['remote-management', 'secret-key'], hash);
  const mode = (await stat(file)).mode & 0o777;
  await writeFileAtomic(file, doc.toString({ lineWidth: 0 }), { mode });
  return hash;
}
