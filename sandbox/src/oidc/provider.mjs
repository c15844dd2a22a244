// The sandbox's OpenID provider: the real `oidc-provider` (npm, OpenID
// Certified), with its own sign-in page that checks the seeded users'
// passwords (its development pages accept any password, which would prove
// nothing). Written by `mezame-sandbox up` next to its node_modules and run as
//   node provider.mjs <config.json>
// config.json: { issuer, port, keys_file, pem_file, clients: [...], users: [{name, password, email, groups}] }
// On first start it makes an RSA signing key, kept in keys_file (JWKS) and,
// for tests that sign tokens of their own with it, pem_file (PKCS#8 PEM).
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

if (!existsSync(config.keys_file)) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'sandbox-' + randomBytes(4).toString('hex'), use: 'sig', alg: 'RS256' };
  writeFileSync(config.keys_file, JSON.stringify({ keys: [jwk] }), { mode: 0o600 });
  writeFileSync(config.pem_file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
}
const jwks = JSON.parse(readFileSync(config.keys_file, 'utf8'));
const users = new Map(config.users.map((u) => [u.name, u]));

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks,
  cookies: { keys: [config.cookie_key] },
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'], groups: ['groups'] },
  // The claims of the granted scopes go into the ID token itself.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  ttl: { IdToken: 3600, AccessToken: 3600, Session: 8 * 3600, Interaction: 600, Grant: 8 * 3600 },
  findAccount: async (ctx, id) => {
    const u = users.get(id);
    if (!u) return undefined;
    return {
      accountId: id,
      claims: async () => ({ sub: id, name: u.name, preferred_username: u.name, email: u.email, email_verified: true, groups: u.groups }),
    };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // A first-party client: consent is implied once signed in.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    if (!ctx.oidc.session.accountId) return undefined;
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email groups');
    await grant.save();
    return grant;
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const page = (uid, error) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in — sandbox identity provider</title></head>
<body style="font-family: system-ui; max-width: 360px; margin: 80px auto">
<h1>Sandbox sign-in</h1>
<p>The sandbox's OpenID provider (oidc-provider). Users: see <code>mezame-sandbox status</code>.</p>
${error ? `<p role="alert" style="color: #b42318">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
  <p><label>User <input name="username" autocomplete="username" autofocus></label></p>
  <p><label>Password <input name="password" type="password" autocomplete="current-password"></label></p>
  <p><button type="submit">Sign in</button></p>
</form></body></html>`;

function body(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c) => { data += c; if (data.length > 10_000) req.destroy(); });
    req.on('end', () => resolve(new URLSearchParams(data)));
    req.on('error', reject);
  });
}

const callback = provider.callback();
const server = createServer(async (req, res) => {
  const m = req.url.match(/^\/interaction\/([^/?]+)(\/login)?/);
  if (!m) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'consent') {
      // A first-party client (the panel), registered as a native app so that
      // any loopback port may be its redirect URI (RFC 8252): native clients
      // always pass through consent, which is granted here without a page.
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      grant.addOIDCScope('openid profile email groups');
      const grantId = await grant.save();
      return await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(page(details.uid));
    }
    const form = await body(req);
    const u = users.get(form.get('username'));
    if (!u || u.password !== form.get('password')) {
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(page(details.uid, 'Unknown user or wrong password.'));
    }
    await provider.interactionFinished(req, res, { login: { accountId: u.name } }, { mergeWithLastSubmission: false });
  } catch (e) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`sign-in failed: ${e.message}`);
  }
});
server.listen(config.port, '127.0.0.1', () => console.log(`oidc-provider ${config.issuer} listening on 127.0.0.1:${config.port}`));
