/**
 * Device-code authorizations: a user code (ABCD-EFGH) a person enters on /codex/device,
 * polled by the client until approved, denied or expired.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Clock } from '../util/clock.js';

/** Letters only, no I or O (easy to read aloud and type). */
const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ';

export type DeviceState = 'pending' | 'approved' | 'denied';

export interface DeviceAuth {
  deviceAuthId: string;
  userCode: string;
  clientId: string;
  expiresAt: number;
  state: DeviceState;
  /** Set once approved: the authorization code and the PKCE pair the server made. */
  grant?: { authorizationCode: string; codeChallenge: string; codeVerifier: string };
}

export function normalizeUserCode(input: string): string {
  const letters = input.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return letters.length === 8 ? `${letters.slice(0, 4)}-${letters.slice(4)}` : input.trim().toUpperCase();
}

function makeUserCode(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}

export class DeviceAuthorizations {
  private readonly byId = new Map<string, DeviceAuth>();
  private readonly byUserCode = new Map<string, DeviceAuth>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  create(clientId: string): DeviceAuth {
    let userCode = makeUserCode();
    while (this.byUserCode.has(userCode)) userCode = makeUserCode();
    const auth: DeviceAuth = {
      deviceAuthId: `deviceauth_${randomBytes(16).toString('hex')}`,
      userCode,
      clientId,
      expiresAt: this.clock.now() + this.ttlMs,
      state: 'pending',
    };
    this.byId.set(auth.deviceAuthId, auth);
    this.byUserCode.set(userCode, auth);
    return auth;
  }

  /** Every device auth id, user code and server-made grant (tests search output for them). */
  issued(): string[] {
    const out: string[] = [];
    for (const a of this.byId.values()) {
      out.push(a.deviceAuthId, a.userCode);
      if (a.grant) out.push(a.grant.authorizationCode, a.grant.codeVerifier);
    }
    return out;
  }

  byDeviceId(id: string): DeviceAuth | undefined {
    return this.byId.get(id);
  }

  /** A pending, unexpired authorization for a user code as typed by a person (case/dash-insensitive). */
  pendingByUserCode(input: string): DeviceAuth | undefined {
    const auth = this.byUserCode.get(normalizeUserCode(input));
    if (!auth || auth.state !== 'pending' || this.isExpired(auth)) return undefined;
    return auth;
  }

  isExpired(auth: DeviceAuth): boolean {
    return this.clock.now() >= auth.expiresAt;
  }
}

