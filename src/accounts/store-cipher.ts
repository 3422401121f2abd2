import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import * as z from 'zod';

/**
 * Encryption at rest for the token fields of a stored account (both stores).
 *
 * The key (`store.encryption-key`, env CLIPROXY_STORE_KEY) is either 32 bytes in base64
 * (standard or URL alphabet) used as is, or any other text: a passphrase stretched with
 * scrypt (N=2^14, r=8, p=1) and a random 16-byte salt. The salt is chosen once per process
 * and stored in every envelope, so each process derives one key (cached per salt).
 *
 * Envelope (version 1), stored in place of id/access/refresh tokens:
 *   {"v":1,"alg":"A256GCM","kdf":"none"|"scrypt","salt"?:b64,"iv":b64 (12 bytes),"ct":b64 (ciphertext + 16-byte tag)}
 * The plaintext is the JSON {"id_token","access_token","refresh_token"}; the additional
 * authenticated data is the account id, so an envelope cannot be moved to another account.
 * Email, plan, expiry and the other fields stay readable (for `status`).
 */
export const envelopeSchema = z.object({
  v: z.literal(1),
  alg: z.literal('A256GCM'),
  kdf: z.enum(['none', 'scrypt']),
  salt: z.string().optional(),
  iv: z.string(),
  ct: z.string(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

export interface SealedTokens {
  idToken: string;
  accessToken: string;
  refreshToken: string;
}

/** An envelope this process cannot open: no key configured, or a different key. */
export class StoreKeyError extends Error {
  constructor(readonly why: 'no-key' | 'wrong-key' | 'bad-envelope', message: string) {
    super(message);
    this.name = 'StoreKeyError';
  }
}

const SCRYPT = { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const MIN_PASSPHRASE = 12;

/** A configured key: seals with `key`, opens with it and with any `alsoOpens` (rekey reads with the old key). */
export class StoreCipher {
  private readonly raw: Buffer | null;
  private readonly passphrase: string | null;
  private readonly salt: Buffer;
  private readonly derived = new Map<string, Buffer>();

  private constructor(secret: string) {
    const raw = decodeRawKey(secret);
    this.raw = raw;
    this.passphrase = raw ? null : secret;
    this.salt = randomBytes(16);
  }

  /** Parses a configured key; throws with what is wrong (never quoting it). */
  static fromSecret(secret: string): StoreCipher {
    const s = secret.trim();
    if (!decodeRawKey(s) && s.length < MIN_PASSPHRASE) {
      throw new Error(`store.encryption-key (CLIPROXY_STORE_KEY): use 32 random bytes in base64 (openssl rand -base64 32) or a passphrase of at least ${MIN_PASSPHRASE} characters`);
    }
    return new StoreCipher(s);
  }

  seal(tokens: SealedTokens, accountId: string): Envelope {
    const kdf = this.raw ? 'none' : 'scrypt';
    const key = this.raw ?? this.keyFor(this.salt);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(accountId, 'utf8'));
    const plain = JSON.stringify({ id_token: tokens.idToken, access_token: tokens.accessToken, refresh_token: tokens.refreshToken });
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final(), c.getAuthTag()]);
    return { v: 1, alg: 'A256GCM', kdf, ...(kdf === 'scrypt' ? { salt: this.salt.toString('base64') } : {}), iv: iv.toString('base64'), ct: ct.toString('base64') };
  }

  /** Opens an envelope; null when this key does not fit it (wrong key, or raw vs passphrase). */
  tryOpen(env: Envelope, accountId: string): SealedTokens | null {
    let key: Buffer;
    if (env.kdf === 'none') {
      if (!this.raw) return null;
      key = this.raw;
    } else {
      if (!this.passphrase || !env.salt) return null;
      key = this.keyFor(Buffer.from(env.salt, 'base64'));
    }
    const data = Buffer.from(env.ct, 'base64');
    if (data.length < 17) return null;
    try {
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(env.iv, 'base64'));
      d.setAAD(Buffer.from(accountId, 'utf8'));
      d.setAuthTag(data.subarray(data.length - 16));
      const plain = Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]).toString('utf8');
      const j = JSON.parse(plain) as Record<string, unknown>;
      return { idToken: String(j.id_token ?? ''), accessToken: String(j.access_token ?? ''), refreshToken: String(j.refresh_token ?? '') };
    } catch {
      return null;
    }
  }

  private keyFor(salt: Buffer): Buffer {
    const id = salt.toString('base64');
    let key = this.derived.get(id);
    if (!key) {
      key = scryptSync(this.passphrase!, salt, 32, SCRYPT);
      if (this.derived.size >= 64) this.derived.delete(this.derived.keys().next().value!);
      this.derived.set(id, key);
    }
    return key;
  }
}

/**
 * What a store seals with and opens with. `seal` null = write plain. `open` = the keys tried,
 * in order, on an envelope (normally just the seal key; `store rekey` adds the old one).
 */
export interface StoreCrypto {
  seal: StoreCipher | null;
  open: StoreCipher[];
}

export const PLAIN: StoreCrypto = { seal: null, open: [] };

export function cryptoFor(secret: string | undefined): StoreCrypto {
  if (!secret) return PLAIN;
  const c = StoreCipher.fromSecret(secret);
  return { seal: c, open: [c] };
}

/** Opens an envelope with the first key that fits, else throws StoreKeyError saying why. */
export function openEnvelope(crypto: StoreCrypto, raw: unknown, accountId: string): SealedTokens {
  const parsed = envelopeSchema.safeParse(raw);
  if (!parsed.success) throw new StoreKeyError('bad-envelope', 'encrypted tokens in an unknown format (written by a newer cliproxy?)');
  if (crypto.open.length === 0) {
    throw new StoreKeyError('no-key', 'its tokens are encrypted and no store.encryption-key (CLIPROXY_STORE_KEY) is set');
  }
  for (const c of crypto.open) {
    const t = c.tryOpen(parsed.data, accountId);
    if (t) return t;
  }
  throw new StoreKeyError('wrong-key', 'its tokens are encrypted with a different key than store.encryption-key (CLIPROXY_STORE_KEY)');
}

/** True when `crypto` can open this envelope (a save may replace it). */
export function canOpen(crypto: StoreCrypto, raw: unknown, accountId: string): boolean {
  try {
    openEnvelope(crypto, raw, accountId);
    return true;
  } catch {
    return false;
  }
}

function decodeRawKey(s: string): Buffer | null {
  if (!/^[A-Za-z0-9+/_-]{42,43}={0,2}$/.test(s)) return null;
  const buf = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return buf.length === 32 ? buf : null;
}
