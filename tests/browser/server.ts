// Starts the release `mezame` binary on a free port with a given config, and
// stops it afterwards.
import { spawn, ChildProcess, execFileSync } from 'node:child_process';
import type { Page } from '@playwright/test';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Mezame { url: string; stop: () => void; kill9: () => void; }

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the browser tests with \`cargo xtask test\``);
  return v;
}

/// `database`: a URL (PostgreSQL, several replicas on one); by default a new SQLite file.
export async function startMezame(config: string, database?: string): Promise<Mezame> {
  const dir = mkdtempSync(join(tmpdir(), 'mezame-browser-'));
  const file = join(dir, 'mezame.toml');
  writeFileSync(file, `database = "${database ?? join(dir, 'mezame.db')}"\n${config}`);
  const child: ChildProcess = spawn(required('MEZAME_BIN'), ['serve', '--config', file, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RUST_LOG: 'warn,kube_client=off' },
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('mezame did not print its URL within 60 s')), 60_000);
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const m = buffered.match(/mezame listening on (http:\/\/\S+?)\/?\n/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`mezame exited with ${code}`)));
  });
  return { url, stop: () => child.kill(), kill9: () => child.kill('SIGKILL') };
}

/// The test sandbox as `mezame-sandbox status --json` reports it.
export function sandboxStatus(): any {
  return JSON.parse(execFileSync(required('MEZAME_SANDBOX_BIN'), ['--dir', required('MEZAME_SANDBOX_DIR'), 'status', '--json']).toString());
}

export interface User { name: string; password: string; role: string; token: string; }

/// The sandbox's seeded user of a role (admin: ada, operator: omar, viewer: vera).
export function user(role: 'admin' | 'operator' | 'viewer'): User {
  const u = sandboxStatus().users.find((u: User) => u.role === role);
  if (!u) throw new Error(`the sandbox has no ${role} user`);
  return u;
}

/// Playwright options that make every request of a page act as `role` (its API token).
export function actAs(role: 'admin' | 'operator' | 'viewer') {
  return { extraHTTPHeaders: { Authorization: `Bearer ${user(role).token}` } };
}

/// fetch() against the panel as `role`; JSON bodies are sent as JSON.
export async function api(url: string, init: { method?: string; body?: unknown } = {}, role: 'admin' | 'operator' | 'viewer' = 'admin'): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${user(role).token}` };
  if (init.method && init.method !== 'GET') headers['content-type'] = 'application/json';
  return fetch(url, { method: init.method ?? 'GET', headers, body: init.method && init.method !== 'GET' ? JSON.stringify(init.body ?? {}) : undefined });
}

/// The [[env]] blocks and the [auth] table (the sandbox's OpenID provider,
/// users and tokens) of the test sandbox's mezame config (without its database).
export function sandboxEnvs(): string {
  const dir = required('MEZAME_SANDBOX_DIR');
  const text = readFileSync(join(dir, 'mezame.toml'), 'utf8');
  return text.split('\n').filter((l) => !l.startsWith('database')).join('\n');
}

/// kubectl (the sandbox's own build) against one environment of the test sandbox.
export function kubectl(env: string, ...args: string[]): string {
  const dir = required('MEZAME_SANDBOX_DIR');
  const status = JSON.parse(execFileSync(required('MEZAME_SANDBOX_BIN'), ['--dir', dir, 'status', '--json']).toString());
  if (!status.kubectl) throw new Error('the sandbox reports no kubectl');
  return execFileSync(status.kubectl, ['--kubeconfig', status.kubeconfig, '--context', `kwok-mezame-${env}`, ...args]).toString();
}

/// `mezame-sandbox` on the test sandbox (e.g. `apiserver stop --env qa`).
export function sandboxCmd(...args: string[]): string {
  return execFileSync(required('MEZAME_SANDBOX_BIN'), ['--dir', required('MEZAME_SANDBOX_DIR'), ...args]).toString();
}

/// Collects console errors, page errors and failed requests (answers ≥ 400
/// but those of `expected` statuses, which a test provokes on purpose).
export function watch(page: Page, expected: number[] = []): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    // Chromium logs every answer ≥ 400 as a console error; those are judged by status below.
    if (m.type() === 'error' && !(expected.length > 0 && m.text().startsWith('Failed to load resource'))) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // The page closes its event streams itself: a run's once the run has ended,
    // a page's (topology, capacity and deploys cues) when the page is left.
    // A stream refused shows as its status; one that cannot connect, as another error.
    const closedStream = /\/events$/.test(new URL(r.url()).pathname) && r.failure()?.errorText === 'net::ERR_ABORTED';
    if (!closedStream) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => { if (r.status() >= 400 && !expected.includes(r.status())) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return problems;
}
