/**
 * HTML pages of the sandbox issuer: the sign-in/consent page, the device-code entry and
 * approval pages, and result pages. Element ids and names are stable so browser tests can
 * drive them: #email, #plan, #approve, #deny, #user_code, #continue.
 */
import { PLANS } from './accounts.js';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · cliproxy sandbox</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f4f5;margin:0;display:flex;justify-content:center}
main{background:#fff;margin-top:8vh;padding:2rem 2.5rem;border-radius:12px;box-shadow:0 2px 12px #0002;max-width:28rem;width:100%}
h1{font-size:1.3rem;margin-top:0}
label{display:block;margin:.8rem 0 .3rem;font-weight:600}
input,select{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
.buttons{display:flex;gap:.8rem;margin-top:1.4rem}
button{flex:1;padding:.6rem;font-size:1rem;border-radius:8px;border:1px solid #888;cursor:pointer}
button.primary{background:#10a37f;color:#fff;border-color:#10a37f}
.error{color:#b91c1c;font-weight:600}
.note{color:#555;font-size:.9rem}
</style>
</head>
<body><main>
${body}
<p class="note">cliproxy sandbox: a local emulator of the OpenAI sign-in service. No real account is used.</p>
</main></body>
</html>`;
}

function identityFields(email: string, plan: string): string {
  const options = PLANS.map((p) => `<option value="${p}"${p === plan ? ' selected' : ''}>${p}</option>`).join('');
  return `<label for="email">Email</label>
<input id="email" name="email" type="email" value="${escapeHtml(email)}" required>
<label for="plan">Plan</label>
<select id="plan" name="plan">${options}</select>`;
}

function decisionButtons(): string {
  return `<div class="buttons">
<button id="approve" class="primary" type="submit" name="decision" value="approve">Approve</button>
<button id="deny" type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</div>`;
}

export function signInPage(p: { requestId: string; email: string; plan: string; redirectHost: string }): string {
  return layout(
    'Sign in',
    `<h1>Sign in to Codex</h1>
<p>An application at <strong>${escapeHtml(p.redirectHost)}</strong> wants to sign in with your ChatGPT account.</p>
<form id="consent" method="post" action="/oauth/authorize/decision">
<input type="hidden" name="request_id" value="${escapeHtml(p.requestId)}">
${identityFields(p.email, p.plan)}
${decisionButtons()}
</form>`,
  );
}

export function deviceCodePage(p: { error?: string; userCode?: string } = {}): string {
  const error = p.error ? `<p id="error" class="error">${escapeHtml(p.error)}</p>` : '';
  return layout(
    'Device sign-in',
    `<h1>Enter your device code</h1>
${error}
<form id="device" method="post" action="/codex/device">
<label for="user_code">Code</label>
<input id="user_code" name="user_code" value="${escapeHtml(p.userCode ?? '')}" placeholder="ABCD-EFGH" autocomplete="off" required>
<div class="buttons"><button id="continue" class="primary" type="submit">Continue</button></div>
</form>`,
  );
}

export function deviceApprovePage(p: { userCode: string; email: string; plan: string }): string {
  return layout(
    'Approve device',
    `<h1>Sign in on your device</h1>
<p>Code <strong id="confirmed_code">${escapeHtml(p.userCode)}</strong>: allow this device to use your ChatGPT account?</p>
<form id="consent" method="post" action="/codex/device/decision">
<input type="hidden" name="user_code" value="${escapeHtml(p.userCode)}">
${identityFields(p.email, p.plan)}
${decisionButtons()}
</form>`,
  );
}

export function messagePage(title: string, message: string, id = 'result'): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1><p id="${id}">${escapeHtml(message)}</p>`);
}
