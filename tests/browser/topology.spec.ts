// The topology page and the Jobs page in a real browser against the test
// sandbox: the graph, live changes without reload, an environment that goes
// down and comes back, "Run now", and clear messages for unknown names.
import { test, expect, Page } from '@playwright/test';
import { startMezame, sandboxEnvs, Mezame, kubectl, sandboxCmd, actAs, api } from './server';

const MICROSERVICES = 17;
const FLAWED: Record<string, string> = {
  'firmware-updater': 'readiness_probe',
  'report-service': 'max_unavailable',
  'supplier-catalog': 'pre_stop',
};

/// Marks the page so that a reload (which would lose the mark) is detected.
async function mark(page: Page) { await page.evaluate(() => { (window as any).__mezameMark = 42; }); }
async function stillSamePage(page: Page) { expect(await page.evaluate(() => (window as any).__mezameMark)).toBe(42); }

async function openTopology(page: Page, url: string, env: string) {
  await page.goto(`${url}/topology?env=${env}`);
  await expect(page.getByTestId('status')).toHaveText('live', { timeout: 30_000 });
  await expect(page.getByTestId('ms')).toHaveCount(MICROSERVICES, { timeout: 30_000 });
}

/// Argo CD auto-syncs prod (no self-heal there) when an Application goes out
/// of sync and the repository moved since its last sync — and earlier tests
/// move master: it then reverted the scale below within seconds (the page
/// went 2/3, then 2/2). Synced at the repository's head first, a scale stays.
async function syncedAtHead(env: string, app: string) {
  kubectl(env, '-n', 'argocd', 'patch', 'application', app, '--type', 'merge',
    '-p', JSON.stringify({ operation: { initiatedBy: { username: 'e2e' }, sync: {} } }));
  const state = () => kubectl(env, '-n', 'argocd', 'get', 'application', app, '-o',
    'jsonpath={.status.operationState.phase} {.status.operationState.syncResult.revision} {.status.sync.revision} {.operation}').trim();
  await expect.poll(() => {
    const [phase, synced, head, pending] = state().split(' ');
    return phase === 'Succeeded' && synced === head && !pending;
  }, { timeout: 60_000, message: `${env}'s ${app} synced at the repository's head` }).toBe(true);
}

test.describe('topology and jobs', () => {
  test.use(actAs('admin'));
  let mezame: Mezame;
  test.beforeAll(async () => { mezame = await startMezame(sandboxEnvs()); });
  test.afterAll(() => mezame.stop());

  test('the graph shows the ALB, Ambassador, every microservice, its pods and exactly the seeded findings', async ({ page }) => {
    await openTopology(page, mezame.url, 'dev');
    await expect(page.getByTestId('ingress-host')).toHaveText('api.dev.iot-inventory.example');
    await expect(page.getByTestId('gateway')).toContainText('ambassador (Ambassador)');
    await expect(page.getByTestId('gateway')).toContainText('2/2 pods ready');
    const rows = page.getByTestId('ms');
    for (let i = 0; i < MICROSERVICES; i++) {
      const row = rows.nth(i);
      const name = await row.getAttribute('data-name');
      await expect(row, `${name}: findings`).toHaveAttribute('data-findings', FLAWED[name!] ?? '');
    }
    await expect(page.locator('circle[data-pod]')).toHaveCount(2 * MICROSERVICES);
    // Filters: only the microservices with a finding.
    await page.getByLabel('Audit finding').selectOption('any');
    await expect(rows).toHaveCount(3);
    await page.getByLabel('Audit finding').selectOption('');
    await page.getByLabel('Search').fill('order-service');
    await expect(rows).toHaveCount(1);
    await page.screenshot({ path: test.info().outputPath('topology.png'), fullPage: true });
    // The detail of a flawed microservice shows the finding and the field to change.
    await page.getByLabel('Search').fill('');
    await page.locator('[data-testid="ms"][data-name="report-service"]').click();
    await expect(page).toHaveURL(/\/services\/report-service\?env=dev$/);
    await expect(page.getByTestId('findings')).toContainText('spec.strategy.rollingUpdate.maxUnavailable');
    await expect(page.getByTestId('pods').locator('tbody tr')).toHaveCount(2);
  });

  test('a scale and a pod deletion through the Kubernetes API change the page without a reload', async ({ page }) => {
    await openTopology(page, mezame.url, 'prod');
    await mark(page);
    const row = page.locator('[data-testid="ms"][data-name="stock-level"]');
    await expect(row.getByTestId('replicas')).toHaveText('2/2');
    await syncedAtHead('prod', 'stock-level');
    kubectl('prod', 'scale', 'deployment/stock-level', '-n', 'platform', '--replicas=3');
    try {
      await expect(row.getByTestId('replicas')).toHaveText('3/3', { timeout: 30_000 });
    } catch (e) {
      // Seen once in CI (the page kept 2/2): say what the cluster and the server had.
      console.log(kubectl('prod', 'get', 'deployments,pods', '-n', 'platform', '-o', 'wide'));
      const topo = await (await api(`${mezame.url}/api/envs/prod/topology`)).json();
      console.log(JSON.stringify(topo.microservices?.find((m: any) => m.name === 'stock-level') ?? topo.source));
      throw e;
    }
    await expect(page.locator('circle[data-pod^="stock-level-"]')).toHaveCount(3);
    const victim = await page.locator('circle[data-pod^="stock-level-"]').first().getAttribute('data-pod');
    kubectl('prod', 'delete', 'pod', victim!, '-n', 'platform', '--wait=false');
    await expect(page.locator(`circle[data-pod="${victim}"]`)).toHaveCount(0, { timeout: 30_000 });
    kubectl('prod', 'scale', 'deployment/stock-level', '-n', 'platform', '--replicas=2');
    await expect(row.getByTestId('replicas')).toHaveText('2/2', { timeout: 30_000 });
    await stillSamePage(page);
  });

  test('an environment whose API server stops shows as down, and comes back without a reload', async ({ page, context }) => {
    test.setTimeout(240_000);
    await openTopology(page, mezame.url, 'qa');
    await mark(page);
    const dev = await context.newPage();
    await openTopology(dev, mezame.url, 'dev');
    try {
      sandboxCmd('apiserver', 'stop', '--env', 'qa');
      await expect(page.getByTestId('status')).toContainText('environment down', { timeout: 30_000 });
      await expect(page.getByTestId('ms')).toHaveCount(MICROSERVICES);
      await expect(dev.getByTestId('status')).toHaveText('live');
    } finally {
      sandboxCmd('apiserver', 'start', '--env', 'qa');
    }
    await expect(page.getByTestId('status')).toHaveText('live', { timeout: 60_000 });
    await expect(page.getByTestId('ms')).toHaveCount(MICROSERVICES);
    await expect(page.locator('[data-testid="ms"][data-health="healthy"]')).toHaveCount(MICROSERVICES, { timeout: 60_000 });
    await stillSamePage(page);
  });

  test('Run now on a CronJob starts a Job the page sees finish', async ({ page }) => {
    await page.goto(`${mezame.url}/jobs?env=dev`);
    const card = page.locator('[data-testid="cronjob"][data-name="mail-notification"]');
    await card.getByRole('button', { name: 'Run now' }).click();
    await expect(card.getByRole('dialog', { name: 'Confirm run' })).toBeVisible();
    await card.getByRole('button', { name: 'Run', exact: true }).click();
    const started = card.getByTestId('started');
    await expect(started).toContainText('Started Job mail-notification-manual-');
    const job = (await started.textContent())!.replace('Started Job ', '').trim();
    const manifest = JSON.parse(kubectl('dev', 'get', 'job', job, '-n', 'platform', '-o', 'json'));
    expect(manifest.metadata.annotations['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(manifest.metadata.ownerReferences[0]).toMatchObject({ kind: 'CronJob', name: 'mail-notification', controller: true });
    await expect(card.locator(`tr[data-job="${job}"]`)).toHaveAttribute('data-outcome', 'succeeded', { timeout: 60_000 });
  });

  test('unknown services and environments get a clear message', async ({ page }) => {
    await page.goto(`${mezame.url}/services/no-such-service?env=dev`);
    await expect(page.getByTestId('not-found')).toContainText('no microservice no-such-service in environment dev');
    await page.goto(`${mezame.url}/services/order-service?env=nowhere`);
    await expect(page.getByTestId('not-found')).toContainText('unknown environment nowhere');
    await page.goto(`${mezame.url}/topology?env=nowhere`);
    await expect(page.getByTestId('status')).toContainText('unknown environment nowhere', { timeout: 10_000 });
  });
});
