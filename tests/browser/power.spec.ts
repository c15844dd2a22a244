// The "Wake dev env" button in a real browser against the test sandbox: dev
// is put to sleep through the API, then woken from the Environments page; the
// step list progresses to done and the topology shows the pods again.
import { test, expect } from '@playwright/test';
import { startMezame, sandboxEnvs, Mezame } from './server';

async function finished(url: string, id: number, timeoutMs: number): Promise<any> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const run = await (await fetch(`${url}/api/runs/${id}`)).json();
    if (run.state !== 'running') return run;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`run ${id} did not finish within ${timeoutMs / 1000} s`);
}

test.describe('power', () => {
  let mezame: Mezame;
  test.beforeAll(async () => { mezame = await startMezame(sandboxEnvs()); });
  test.afterAll(() => mezame.stop());

  test('Wake dev env: the steps progress to done and the topology shows pods again', async ({ page }) => {
    test.setTimeout(15 * 60_000);
    const started = await fetch(`${mezame.url}/api/envs/dev/sleep`, { method: 'POST' });
    expect(started.status).toBe(202);
    const sleep = await finished(mezame.url, (await started.json()).id, 6 * 60_000);
    expect(sleep.state, JSON.stringify(sleep)).toBe('succeeded');

    await page.goto(`${mezame.url}/envs`);
    const dev = page.locator('[data-env=dev]');
    await expect(dev.getByTestId('power-state')).toHaveText('Asleep', { timeout: 30_000 });
    await expect(page.locator('[data-env=prod]').getByTestId('sleep'), 'prod has no Sleep button').toHaveCount(0);
    await expect(page.locator('[data-env=prod]').getByTestId('wake')).toHaveCount(0);
    const wake = dev.getByTestId('wake');
    await expect(wake).toContainText('Wake dev env');
    // The page follows the run over its event stream, not by polling it.
    const runReads: string[] = [];
    const streams: string[] = [];
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (/^\/api\/runs\/\d+$/.test(path)) runReads.push(path);
      if (/^\/api\/runs\/\d+\/events$/.test(path)) streams.push(path);
    });
    await wake.click();
    const run = dev.getByTestId('run');
    await expect(run).toHaveAttribute('data-state', 'running', { timeout: 10_000 });
    await expect(dev.getByTestId('power-state')).toHaveText('Waking');
    // Steps turn done one after the other, live, without a reload.
    await expect(run.locator('[data-step=start-databases][data-state=done]')).toBeVisible({ timeout: 60_000 });
    await expect(run.locator('[data-step=wait-nodes][data-state=done]')).toBeVisible({ timeout: 5 * 60_000 });
    await expect(run).toHaveAttribute('data-state', 'succeeded', { timeout: 8 * 60_000 });
    await expect(run.locator('[data-testid=step][data-state=done]')).toHaveCount(10);
    await expect(dev.getByTestId('power-state')).toHaveText('Awake', { timeout: 30_000 });
    expect(streams.length, 'the run is followed over GET /api/runs/{id}/events').toBeGreaterThanOrEqual(1);
    expect(streams.length, `no reconnect loop: ${streams}`).toBeLessThanOrEqual(3);
    expect(runReads, 'the run is not polled').toEqual([]);

    await page.goto(`${mezame.url}/topology?env=dev`);
    await expect(page.getByTestId('ms')).toHaveCount(17, { timeout: 60_000 });
    await expect(page.locator('circle[data-pod]')).toHaveCount(34, { timeout: 3 * 60_000 });
  });
});

test.describe('schedule', () => {
  let mezame: Mezame;
  test.beforeAll(async () => { mezame = await startMezame(sandboxEnvs()); });
  test.afterAll(() => mezame.stop());

  test('the schedule editor refuses an unknown time zone and saves a valid schedule', async ({ page }) => {
    await page.goto(`${mezame.url}/envs`);
    const schedule = page.locator('[data-env=dev]').getByTestId('schedule');
    await schedule.locator('summary').click();
    await schedule.getByTestId('tz').fill('Mars/Olympus');
    await schedule.getByTestId('tz').press('Tab');
    await schedule.getByRole('button', { name: 'Save schedule' }).click();
    await expect(schedule.getByRole('alert')).toContainText('Mars/Olympus');
    await schedule.getByTestId('tz').fill('Europe/Paris');
    await schedule.getByTestId('tz').press('Tab');
    await schedule.getByRole('button', { name: 'Save schedule' }).click();
    const saved = page.locator('[data-env=dev]').getByTestId('schedule');
    await expect(saved.locator('summary')).toContainText('08:00–20:00 (Europe/Paris)');
    await expect(saved.getByTestId('next-run')).toContainText('Next:');
    // Leave no schedule behind that could put the shared dev to sleep.
    const power = await (await fetch(`${mezame.url}/api/envs/dev/power`)).json();
    const cleared = await fetch(`${mezame.url}/api/envs/dev/power`, {
      method: 'PUT', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...power.settings, schedule: null }),
    });
    expect(cleared.status).toBe(200);
  });
});
