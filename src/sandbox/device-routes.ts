/**
 * Device-code login: the usercode and token endpoints the client calls, and the
 * /codex/device pages where a person enters the code and approves or denies it.
 */
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { SandboxCore } from './core.js';
import type { DeviceAuth } from './device.js';
import { normalizeUserCode } from './device.js';
import { pkceChallenge } from './tokens.js';
import { readParams, sendHtml, sendJson, type Request } from './http.js';
import { deviceApprovePage, deviceCodePage, messagePage } from './pages.js';
import type { SandboxAccountSpec } from './types.js';

const INVALID_DEVICE_CODE = 'Invalid device code';

/** Approves a device authorization: signs in an account and makes the code + PKCE pair. */
export function approveDeviceAuth(core: SandboxCore, auth: DeviceAuth, spec?: SandboxAccountSpec): void {
  const account = core.accounts.approve(spec);
  const codeVerifier = randomBytes(64).toString('base64url');
  const codeChallenge = pkceChallenge(codeVerifier);
  const authorizationCode = core.tokens.issueCode({
    accountId: account.accountId,
    clientId: auth.clientId,
    redirectUri: core.deviceCallbackUri,
    codeChallenge,
    codeChallengeMethod: 'S256',
  });
  auth.state = 'approved';
  auth.grant = { authorizationCode, codeChallenge, codeVerifier };
}

export function userCodeEndpoint(core: SandboxCore) {
  return async (req: Request, res: ServerResponse): Promise<void> => {
    const p = await readParams(req.raw);
    if (!p.client_id) return sendJson(res, 400, { error: 'invalid_request', error_description: 'client_id is required' });
    if (p.client_id !== core.clientId) return sendJson(res, 400, { error: 'invalid_client', error_description: `Unknown client_id "${p.client_id}"` });
    const auth = core.devices.create(p.client_id);
    sendJson(res, 200, { device_auth_id: auth.deviceAuthId, user_code: auth.userCode, interval: String(core.deviceIntervalSeconds) });
  };
}

export function deviceTokenEndpoint(core: SandboxCore) {
  return async (req: Request, res: ServerResponse): Promise<void> => {
    const p = await readParams(req.raw);
    const auth = core.devices.byDeviceId(p.device_auth_id ?? '');
    if (!auth) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'Unknown device_auth_id' });
    if (normalizeUserCode(p.user_code ?? '') !== auth.userCode) {
      return sendJson(res, 400, { error: 'invalid_grant', error_description: 'user_code does not match this device authorization' });
    }
    if (core.devices.isExpired(auth)) {
      return sendJson(res, 400, { error: 'expired_token', error_description: 'The device code has expired. Start the login again.' });
    }
    if (auth.state === 'denied') {
      return sendJson(res, 400, { error: 'access_denied', error_description: 'The user denied the device authorization.' });
    }
    if (auth.state === 'pending' && core.autoApprove) approveDeviceAuth(core, auth);
    if (auth.state === 'pending' || !auth.grant) {
      return sendJson(res, 403, { error: 'authorization_pending', error_description: 'The user has not approved this device code yet.' });
    }
    sendJson(res, 200, {
      authorization_code: auth.grant.authorizationCode,
      code_challenge: auth.grant.codeChallenge,
      code_verifier: auth.grant.codeVerifier,
    });
  };
}

export function devicePageGet() {
  return (req: Request, res: ServerResponse): void => {
    sendHtml(res, 200, deviceCodePage({ userCode: req.query.get('user_code') ?? undefined }));
  };
}

export function devicePagePost(core: SandboxCore) {
  return async (req: Request, res: ServerResponse): Promise<void> => {
    const p = await readParams(req.raw);
    const auth = core.devices.pendingByUserCode(p.user_code ?? '');
    if (!auth) return sendHtml(res, 400, deviceCodePage({ error: INVALID_DEVICE_CODE, userCode: p.user_code }));
    const next = core.accounts.peekNextIdentity();
    sendHtml(res, 200, deviceApprovePage({ userCode: auth.userCode, email: next.email, plan: next.plan }));
  };
}

export function deviceDecisionPost(core: SandboxCore) {
  return async (req: Request, res: ServerResponse): Promise<void> => {
    const p = await readParams(req.raw);
    const auth = core.devices.pendingByUserCode(p.user_code ?? '');
    if (!auth) return sendHtml(res, 400, deviceCodePage({ error: INVALID_DEVICE_CODE }));
    if (p.decision !== 'approve') {
      auth.state = 'denied';
      return sendHtml(res, 200, messagePage('Device sign-in denied', 'You denied the sign-in. The device will not get access.'));
    }
    approveDeviceAuth(core, auth, { email: p.email, plan: p.plan });
    sendHtml(res, 200, messagePage('Device approved', 'Your device is signed in. You can return to your terminal.'));
  };
}
