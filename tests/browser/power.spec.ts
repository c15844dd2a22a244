// The "Wake dev env" button in a real browser against the test sandbox: dev
// is put to sleep through the API; its public URL points at the asleep page;
// a viewer there sees who may wake it; an operator signs in through the
// sandbox's OpenID provider's page and wakes it from the asleep page; the
// Environments page follows the run live to done, the URL points at the new
// load balancer, the topology shows the pods again, and signing out ends the
// session. On the Environments page the viewer sees Wake disabled, and who may.
import { test, expect, Page } from '@playwright/test';
import { startMezame, sandboxEnvs, Mezame, api, user, actAs } from './server';

async function finished(url: string, id: number, timeoutMs: number): Promise<any> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const run = await (await api(`${url}/api/runs/${id}`)).json();
    if (run.state !== 'running') return run;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`run ${id} did not finish within ${timeoutMs / 1000} s`);
}

test.describe('power', () => {
  let mezame: Mezame;
  test.beforeAll(async () => { mezame = await startMezame(sandboxEnvs()); });
  test.afterAll(() => mezame.stop());

  test('an operator signs in, wakes dev from its asleep page: the steps progress to done, DNS follows, the topology shows pods again; a viewer may not; sign out', async ({ page, browser }) => {
    test.setTimeout(15 * 60_000);
    const started = await api(`${mezame.url}/api/envs/dev/sleep`, { method: 'POST' });
    expect(started.status).toBe(202);
    const sleep = await finished(mezame.url, (await started.json()).id, 6 * 60_000);
    expect(sleep.state, JSON.stringify(sleep)).toBe('succeeded');

    const signInStarted = Date.now();
    await signIn(page, mezame.url, 'operator');
    console.log(`sign-in round trip in the browser (panel → provider's page → panel, typing included): ${Date.now() - signInStarted} ms`);
    await expect(page.getByTestId('user-name')).toHaveText(user('operator').name);
    const card = page.locator('[data-env=dev]');
    await expect(card.getByTestId('power-state')).toHaveText('Asleep', { timeout: 30_000 });
    await expect(page.locator('[data-env=prod]').getByTestId('sleep'), 'prod has no Sleep button').toHaveCount(0);
    await expect(page.locator('[data-env=prod]').getByTestId('wake')).toHaveCount(0);
    await expect(card.getByTestId('wake')).toContainText('Wake dev env');
    // dev's public URL points at the asleep page (Route 53 in moto).
    await expect(card.locator('[data-testid=public-host][data-host="api.dev.iot-inventory.example"]')).toHaveAttribute('data-state', 'AsleepPage');

    // A viewer on the asleep page: no Wake, and who may.
    const viewer = await browser.newContext();
    const vpage = await viewer.newPage();
    await signIn(vpage, mezame.url, 'viewer');
    await vpage.goto(`${mezame.url}/asleep/dev`);
    await expect(vpage.getByTestId('asleep-title')).toContainText('dev is asleep since', { timeout: 30_000 });
    await expect(vpage.getByTestId('who-may')).toContainText('group:developers (operator)');
    await expect(vpage.getByTestId('wake-it')).toHaveCount(0);

    // The operator wakes dev from the asleep page (where DNS sends its URL while asleep).
    await page.goto(`${mezame.url}/asleep/dev`);
    await expect(page.getByTestId('asleep-title')).toContainText('dev is asleep since', { timeout: 30_000 });
    const woken = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/envs/dev/wake' && r.request().method() === 'POST');
    await page.getByTestId('wake-it').click();
    const wakeRun = (await (await woken).json()).id;
    const asleepRun = page.getByTestId('run');
    await expect(asleepRun).toHaveAttribute('data-state', 'running', { timeout: 10_000 });
    // The Environments page in another tab follows the same run, live.
    const envsPage = await page.context().newPage();
    // The page follows the run over its event stream, not by polling it.
    const runReads: string[] = [];
    const streams: string[] = [];
    envsPage.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (/^\/api\/runs\/\d+$/.test(path)) runReads.push(path);
      if (/^\/api\/runs\/\d+\/events$/.test(path)) streams.push(path);
    });
    await envsPage.goto(`${mezame.url}/envs`);
    const dev = envsPage.locator('[data-env=dev]');
    const run = dev.getByTestId('run');
    await expect(run).toHaveAttribute('data-state', 'running', { timeout: 10_000 });
    await expect(dev.getByTestId('power-state')).toHaveText('Waking');
    // Steps turn done one after the other, live, without a reload.
    await expect(run.locator('[data-step=start-databases][data-state=done]')).toBeVisible({ timeout: 60_000 });
    await expect(run.locator('[data-step=wait-nodes][data-state=done]')).toBeVisible({ timeout: 5 * 60_000 });
    // The card's node count follows during the run (asleep, dev has none).
    await expect(dev.getByTestId('k8s-ok')).toContainText(/ [1-9]\d*\/[1-9]\d* nodes ready/, { timeout: 30_000 });
    // The server's word first (a failed step says which and why), then the page's.
    const ended = await finished(mezame.url, wakeRun, 8 * 60_000);
    expect(ended.state, JSON.stringify(ended)).toBe('succeeded');
    await expect(run).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 });
    await expect(run.locator('[data-testid=step][data-state=done]')).toHaveCount(11);
    await expect(dev.getByTestId('power-state')).toHaveText('Awake', { timeout: 30_000 });
    // The asleep page saw it through, and links to the app, its DNS at the new load balancer.
    await expect(asleepRun).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 });
    await expect(page.getByTestId('asleep-title')).toHaveText('dev is awake', { timeout: 30_000 });
    await expect(page.getByTestId('app-links').getByRole('link', { name: 'https://api.dev.iot-inventory.example/' })).toHaveAttribute('data-live', 'true', { timeout: 30_000 });
    await expect(dev.locator('[data-testid=public-host][data-host="api.dev.iot-inventory.example"]')).toHaveAttribute('data-state', 'Live', { timeout: 30_000 });
    // Reading the environments again (as when a run ends, or "Check again")
    // does not rebuild the card: the finished run stays on it.
    const reread = envsPage.waitForResponse((r) => new URL(r.url()).pathname === '/api/envs');
    await envsPage.getByRole('button', { name: 'Check again' }).click();
    await reread;
    await envsPage.waitForTimeout(500);
    await expect(run, 'the ended run is still shown after the re-read').toHaveAttribute('data-state', 'succeeded');
    expect(streams.length, 'the run is followed over GET /api/runs/{id}/events').toBeGreaterThanOrEqual(1);
    expect(streams.length, `no reconnect loop: ${streams}`).toBeLessThanOrEqual(3);
    expect(runReads, 'the run is not polled').toEqual([]);

    await page.goto(`${mezame.url}/topology?env=dev`);
    await expect(page.getByTestId('ms')).toHaveCount(17, { timeout: 60_000 });
    await expect(page.locator('circle[data-pod]')).toHaveCount(34, { timeout: 3 * 60_000 });

    // Sign out: the session ends on the server; the same cookie is refused after.
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'mezame_session');
    expect(session?.httpOnly, 'the session cookie is HttpOnly').toBe(true);
    expect(session?.sameSite).toBe('Lax');
    await page.getByTestId('sign-out').click();
    await expect(page).toHaveURL(/\/signed-out$/);
    await expect(page.getByRole('heading', { name: 'Signed out' })).toBeVisible();
    const after = await fetch(`${mezame.url}/api/me`, { headers: { cookie: `mezame_session=${session!.value}` } });
    expect(after.status, 'the old session cookie no longer works').toBe(401);

    // A viewer: Wake is there but disabled, with who may.
    await vpage.goto(`${mezame.url}/envs`);
    const vdev = vpage.locator('[data-env=dev]');
    await expect(vdev.getByTestId('wake')).toBeDisabled({ timeout: 30_000 });
    await expect(vdev.getByTestId('not-operator')).toContainText('group:developers (operator)');
    await viewer.close();
  });
});

/// Opens the panel signed out: it sends the browser to the provider's page,
/// where the seeded user of `role` signs in; the panel's Environments page is back.
async function signIn(page: Page, url: string, role: 'operator' | 'viewer') {
  const u = user(role);
  await page.goto(`${url}/envs`);
  await expect(page.getByRole('heading', { name: 'Sandbox sign-in' })).toBeVisible({ timeout: 30_000 });
  await page.getByLabel('User').fill(u.name);
  await page.getByLabel('Password').fill(u.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${url}/envs`);
  await expect(page.getByTestId('user-name')).toHaveText(u.name, { timeout: 30_000 });
}

test.describe('schedule', () => {
  test.use(actAs('admin'));
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
    // The Node groups page prices it: what the view says it saves (checked
    // against the table and the hours by tests/sleep_saving.rs).
    const cost = async () => (await (await api(`${mezame.url}/api/envs/dev/capacity`)).json()).cost;
    await expect.poll(async () => (await cost()).sleep_saving_monthly, { timeout: 30_000 }).toBeGreaterThan(0);
    const c = await cost();
    await page.goto(`${mezame.url}/nodegroups?env=dev`);
    await expect(page.getByTestId('sleep-saving')).toHaveText(
      `the sleep schedule saves $${c.sleep_saving_monthly.toFixed(2)}/month (${c.asleep_hours_per_week.toFixed(0)} h asleep a week)`);
    // Leave no schedule behind that could put the shared dev to sleep.
    const power = await (await api(`${mezame.url}/api/envs/dev/power`)).json();
    const cleared = await api(`${mezame.url}/api/envs/dev/power`, { method: 'PUT', body: { ...power.settings, schedule: null } });
    expect(cleared.status).toBe(200);
  });

  test('idle sleep: 3 minutes is refused, 30 is saved and the card counts down from the load balancer\'s requests', async ({ page }) => {
    test.setTimeout(150_000);
    await page.goto(`${mezame.url}/envs`);
    const schedule = page.locator('[data-env=dev]').getByTestId('schedule');
    await schedule.locator('summary').click();
    await schedule.getByTestId('idle-mins').fill('3');
    await schedule.getByTestId('idle-mins').press('Tab');
    await schedule.getByRole('button', { name: 'Save idle sleep' }).click();
    await expect(schedule.getByRole('alert')).toContainText('idle_sleep_mins = 3');
    await schedule.getByTestId('idle-mins').fill('30');
    await schedule.getByTestId('idle-mins').press('Tab');
    await schedule.getByRole('button', { name: 'Save idle sleep' }).click();
    // The sandbox's traffic puts requests in CloudWatch every minute: dev is
    // idle for at most a minute or two, and sleeps in the rest of 30.
    const idle = page.locator('[data-env=dev]').getByTestId('idle');
    await expect(idle).toHaveText(/^idle for [0-3] min, sleeps in (2[7-9]|30) min$/, { timeout: 90_000 });
    const power = await (await api(`${mezame.url}/api/envs/dev/power`)).json();
    expect(power.settings.idle_sleep_mins).toBe(30);
    const cleared = await api(`${mezame.url}/api/envs/dev/power`, { method: 'PUT', body: { ...power.settings, idle_sleep_mins: null } });
    expect(cleared.status).toBe(200);
  });
});
