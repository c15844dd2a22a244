// API tokens in a real browser: an admin signed in through the sandbox's
// OpenID provider makes a token on the Tokens page (its secret shown once),
// the token works from a script, the page shows its last use, and revoking
// it refuses it at once. Jobs in prod (protected): Run now asks for the
// environment's name to be typed.
import { test, expect, Page } from '@playwright/test';
import { startMezame, sandboxEnvs, Mezame, user } from './server';

async function signIn(page: Page, url: string) {
  const u = user('admin');
  await page.goto(`${url}/tokens`);
  await expect(page.getByRole('heading', { name: 'Sandbox sign-in' })).toBeVisible({ timeout: 30_000 });
  await page.getByLabel('User').fill(u.name);
  await page.getByLabel('Password').fill(u.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${url}/tokens`);
}

test.describe('tokens', () => {
  let mezame: Mezame;
  test.beforeAll(async () => { mezame = await startMezame(sandboxEnvs()); });
  test.afterAll(() => mezame.stop());

  test('make a token (shown once), use it, see its last use, revoke it', async ({ page }) => {
    await signIn(page, mezame.url);
    await page.getByTestId('token-name').fill('ci-wake-dev');
    await page.getByTestId('token-role').selectOption('operator');
    await page.getByTestId('token-envs').selectOption('dev');
    await page.getByTestId('token-days').fill('7');
    await page.getByTestId('token-create').click();
    const secret = (await page.getByTestId('token-secret').textContent())!.trim();
    expect(secret).toMatch(/^mzm_/);
    const me = await fetch(`${mezame.url}/api/me`, { headers: { Authorization: `Bearer ${secret}` } });
    expect(me.status).toBe(200);
    expect((await me.json()).roles).toEqual([{ env: 'dev', role: 'operator' }, { env: 'qa', role: null }, { env: 'prod', role: null }]);
    await page.reload();
    await expect(page.getByTestId('token-secret'), 'shown once').toHaveCount(0);
    const row = page.locator('[data-testid=token][data-name=ci-wake-dev]');
    await expect(row.getByTestId('last-used')).not.toHaveText('never');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await expect(row).toHaveAttribute('data-state', 'revoked');
    const after = await fetch(`${mezame.url}/api/me`, { headers: { Authorization: `Bearer ${secret}` } });
    expect(after.status).toBe(401);
  });

  test('Run now in prod asks for its name to be typed', async ({ page }) => {
    await signIn(page, mezame.url);
    await page.goto(`${mezame.url}/jobs?env=prod`);
    const card = page.locator('[data-testid=cronjob][data-name=mail-notification]');
    await card.getByRole('button', { name: 'Run now' }).click();
    const run = card.getByTestId('run-confirm');
    await expect(run).toBeDisabled();
    await card.getByTestId('confirm-env').fill('dev');
    await expect(run).toBeDisabled();
    await card.getByTestId('confirm-env').fill('prod');
    await expect(run).toBeEnabled();
    await run.click();
    await expect(card.getByTestId('started')).toContainText('Started Job mail-notification-manual-');
  });
});
