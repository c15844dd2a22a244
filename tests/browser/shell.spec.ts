// The app shell in a real browser: the release binary serves the embedded UI,
// the navigation works, the Environments page shows the sandbox's
// environments, and the browser sees no console error and no failed request.
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startMezame, sandboxEnvs, Mezame, actAs, kubectl, watch } from './server';

test.describe('with the sandbox', () => {
  test.use(actAs('admin'));
  let mezame: Mezame;
  test.beforeAll(async () => { mezame = await startMezame(sandboxEnvs()); });
  test.afterAll(() => mezame.stop());

  test('navigate to Environments and see every environment', async ({ page }) => {
    const problems = watch(page);
    // Deploys (of dev, the first environment): its newest manifest commit is there.
    const k8s = join(process.env.MEZAME_SANDBOX_DIR!, 'git', 'k8s');
    const newest = execFileSync('git', ['-C', k8s, 'log', '--first-parent', '-1', '--format=%H', 'master', '--', 'dev/manifests']).toString().trim();
    await page.goto(mezame.url + '/deploys'); // dev, the first environment
    await expect(page.getByRole('heading', { name: 'Deploys' })).toBeVisible();
    const row = page.locator(`[data-testid="deploy"][data-manifest="${newest}"]`);
    await expect(row).toBeVisible({ timeout: 60_000 });
    await expect(row).toContainText(newest.slice(0, 7));
    await expect(page.getByTestId('deploys-index')).toContainText('commits indexed');
    // What runs where: a row per microservice, dev's tag of one as the cluster says.
    const tag = kubectl('dev', 'get', 'deployment', 'pricing-service', '-n', 'platform', '-o', 'jsonpath={.spec.template.spec.containers[0].image}').split(':').pop()!;
    await expect(page.locator('[data-testid="version-row"][data-ms="pricing-service"] td[data-env="dev"]')).toContainText(tag.slice(0, 7));
    await page.screenshot({ path: test.info().outputPath('deploys.png'), fullPage: true });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Environments' }).click();
    await expect(page).toHaveURL(/\/envs$/);
    await expect(page.getByRole('heading', { name: 'Environments', level: 1 })).toBeVisible();
    for (const [env, account] of [['dev', '111111111111'], ['prod', '333333333333'], ['qa', '222222222222']]) {
      const card = page.locator(`article[data-env="${env}"]`);
      await expect(card.getByRole('heading', { name: env })).toBeVisible();
      await expect(card.getByTestId('k8s-ok')).toContainText('Kubernetes v1.36.3');
      await expect(card.getByTestId('k8s-ok')).toContainText('nodes ready');
      await expect(card.getByTestId('aws-ok')).toContainText(`account ${account}`);
    }
    await expect(page.locator('article[data-env="prod"] .badge.protected')).toBeVisible();
    await page.screenshot({ path: test.info().outputPath('environments.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  test('Node groups shows dev\'s managed group and spot Auto Scaling group, each with its nodes', async ({ page }) => {
    const problems = watch(page);
    const labelled = (selector: string) => kubectl('dev', 'get', 'nodes', '-l', selector, '-o', 'name').trim().split('\n').filter(Boolean).length;
    await page.goto(mezame.url + '/nodegroups?env=dev');
    await expect(page.getByRole('heading', { name: 'Node groups', level: 1 })).toBeVisible();
    const system = page.locator('[data-testid="group"][data-name="system"]');
    await expect(system.getByTestId('sizes')).toContainText('min 1 · desired 2 · max 3', { timeout: 60_000 });
    await expect(system.getByTestId('node')).toHaveCount(labelled('eks.amazonaws.com/nodegroup=system'));
    const spot = page.locator('[data-testid="group"][data-name="platform-dev-spot"]');
    await expect(spot.getByTestId('mix')).toContainText('0% on-demand above base · price-capacity-optimized · 4 instance types');
    const spotNodes = labelled('sandbox.mezame.dev/asg=platform-dev-spot');
    await expect(spot.getByTestId('node')).toHaveCount(spotNodes);
    await expect(spot.getByTestId('actual')).toHaveText(`running: 0 on-demand · ${spotNodes} spot`);
    for (const cell of await spot.getByTestId('capacity-type').all()) await expect(cell).toHaveText('spot');
    await expect(page.getByTestId('totals')).toContainText('nodes ready');
    // What it costs: its t3.medium nodes at the shipped table's eu-west-1 price; spot at EC2's prices.
    const systemNodes = labelled('eks.amazonaws.com/nodegroup=system');
    await expect(system.getByTestId('group-cost')).toContainText(`costs $${(systemNodes * 0.0456).toFixed(4)}/h`);
    await expect(system.getByTestId('node-price').first()).toHaveText('$0.0456/h');
    await expect(spot.getByTestId('group-cost')).not.toContainText('estimated');
    await expect(page.getByTestId('env-cost')).toContainText('a month');
    await expect(page.getByTestId('spot-saving')).toContainText('spot saves $');
    await expect(page.getByTestId('price-source')).toContainText('EC2 spot price history, read');
    // Spot risk: dev's workloads prefer spot, so some are flagged, each flag with its fix.
    await expect(page.getByTestId('spot-risk-summary')).toContainText('with ready replicas on spot');
    await expect(page.getByTestId('risk-kind').first()).toContainText('fix:');
    await expect(page.getByTestId('interruptions')).toBeVisible();
    await page.screenshot({ path: test.info().outputPath('nodegroups.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  test('the environment selector keeps the choice in the URL across pages', async ({ page }) => {
    const problems = watch(page);
    await page.goto(mezame.url + '/envs');
    await expect(page.locator('article[data-env="dev"]')).toBeVisible();
    await page.getByLabel('Environment').selectOption('prod');
    await expect(page).toHaveURL(/\/envs\?env=prod$/);
    await expect(page.locator('article[data-env="prod"]')).toBeVisible();
    await expect(page.locator('article[data-env="dev"]')).toHaveCount(0);
    await page.getByRole('link', { name: 'Audit' }).click();
    await expect(page).toHaveURL(/\/audit\?env=prod$/);
    await expect(page.getByText('environment prod')).toBeVisible();
    await page.reload();
    await expect(page.getByLabel('Environment')).toHaveValue('prod');
    expect(problems).toEqual([]);
  });
});

test.describe('without environments, sign-in off', () => {
  let mezame: Mezame;
  test.beforeAll(async () => { mezame = await startMezame('auth = "none"\n'); });
  test.afterAll(() => mezame.stop());

  test('the page says how to add an environment, and every page warns that sign-in is off', async ({ page }) => {
    const problems = watch(page);
    await page.goto(mezame.url + '/');
    await expect(page.getByTestId('no-envs')).toContainText('No environments configured');
    await expect(page.getByTestId('no-envs')).toContainText('mezame.example.toml');
    await expect(page.getByTestId('banner')).toContainText('Sign-in is off');
    await page.goto(mezame.url + '/no/such/page');
    await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
    await expect(page.getByTestId('banner')).toContainText('Sign-in is off');
    expect(problems).toEqual([]);
  });
});
