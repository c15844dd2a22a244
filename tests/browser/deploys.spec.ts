// Promote and roll back from the Deploys page, in a real browser against the
// sandbox's real manifest repository and Argo CD: the server's dry run is
// shown before anything is written, a protected environment's name is typed
// to confirm, and the page then shows where the change went.
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startMezame, sandboxEnvs, Mezame, actAs, api, watch } from './server';

const k8s = () => join(process.env.MEZAME_SANDBOX_DIR!, 'git', 'k8s');
const git = (...args: string[]) => execFileSync('git', ['-C', k8s(), ...args]).toString().trim();

let mezame: Mezame;
test.beforeAll(async () => { mezame = await startMezame(sandboxEnvs()); });
test.afterAll(() => mezame.stop());

test.describe('as an operator in dev', () => {
  test.use(actAs('operator'));

  test('roll a microservice back with a reason, see it in the chain, lift the freeze', async ({ page }) => {
    test.setTimeout(180_000);
    const problems = watch(page);
    const ms = 'report-service';
    const newest = git('log', '--first-parent', '-1', '--format=%H', 'master', '--', `dev/manifests/${ms}`);
    await page.goto(mezame.url + '/deploys?env=dev');
    await page.getByTestId('deploys-ms').fill(ms);
    await page.getByTestId('deploys-ms').press('Enter');
    await expect(page.locator(`[data-testid="deploy"][data-manifest="${newest}"]`)).toBeVisible({ timeout: 60_000 });
    // What the newest deploy changed: its app commits and the manifest diff.
    await page.locator(`[data-testid="deploy"][data-manifest="${newest}"]`).getByTestId('changes').click();
    await expect(page.getByTestId('deploy-diff')).toContainText('app commit(s)');
    await expect(page.getByTestId('deploy-diff').locator('pre.patch').first()).toContainText('image:');
    await page.locator('[data-testid="deploy"]').nth(1).getByTestId('rollback').click();
    const dialog = page.getByTestId('deploy-dialog');
    await expect(dialog.getByTestId('apply')).toBeDisabled();
    const reason = 'e2e: report PDFs come out empty';
    await dialog.getByTestId('rollback-reason').fill(reason);
    await dialog.getByTestId('review').click();
    await expect(dialog.getByTestId('review-result')).toContainText(`dev/manifests/${ms}/`);
    await dialog.getByTestId('apply').click();
    await expect(page.getByTestId('deploy-done')).toContainText('on master');
    const commit = git('rev-parse', 'master');
    const row = page.locator(`[data-testid="deploy"][data-manifest="${commit}"]`);
    await expect(row.getByTestId('deploy-action')).toContainText(`rollback by `, { timeout: 60_000 });
    await expect(row.getByTestId('deploy-action')).toContainText(reason);
    await expect(page.getByTestId('deploy-freeze')).toContainText(reason);
    // DORA counts the deploy the rollback undid as failed.
    await expect(page.getByTestId('dora-failure')).toContainText(/[1-9]\d* failed/, { timeout: 30_000 });
    await expect(page.getByTestId('dora-daily').locator('rect.failed[height]:not([height="0"])')).not.toHaveCount(0);
    await page.screenshot({ path: test.info().outputPath('rollback.png'), fullPage: true });
    await page.getByTestId('unfreeze').click();
    await expect(page.getByTestId('deploy-done')).toContainText('no longer frozen');
    await expect(page.getByTestId('deploy-freeze')).toHaveCount(0, { timeout: 30_000 });
    expect(problems).toEqual([]);
    // Back to the newest deploy, as the test found it.
    const back = await api(mezame.url + `/api/envs/dev/deploys/${ms}/rollback`, { method: 'POST', body: { to_deploy: newest, reason: 'e2e: back' } }, 'operator');
    expect(back.status).toBe(200);
    expect((await api(mezame.url + `/api/envs/dev/deploys/${ms}/freeze`, { method: 'DELETE', body: {} }, 'operator')).status).toBe(200);
  });
});

test.describe('as an admin', () => {
  test.use(actAs('admin'));

  test('promote to prod from what runs where: a branch left for a person to merge', async ({ page }) => {
    const problems = watch(page);
    const master = git('rev-parse', 'master');
    await page.goto(mezame.url + '/deploys?env=dev');
    const row = page.locator('[data-testid="version-row"][data-ms="device-registry"]');
    await row.getByTestId('promote').click();
    const dialog = page.getByTestId('deploy-dialog');
    await expect(dialog.getByTestId('review-result')).toContainText('app commit(s)');
    await expect(dialog.getByTestId('apply')).toBeDisabled();
    await dialog.getByTestId('confirm-env').fill('prod');
    await dialog.getByTestId('apply').click();
    const done = page.getByTestId('deploy-done');
    await expect(done).toContainText('waiting for a person to merge it');
    const branch = (await done.textContent())!.match(/branch (mezame\/promote\/prod\/device-registry-\S+),/)![1];
    expect(git('rev-parse', 'master')).toBe(master);
    expect(git('rev-list', `master..${branch}`).split('\n')).toHaveLength(1);
    expect(problems).toEqual([]);
    git('branch', '-D', branch);
  });

  test('move a microservice to spot in prod from the Node groups page: the diff first, then a branch', async ({ page }) => {
    const problems = watch(page, [409]);
    const master = git('rev-parse', 'master');
    await page.goto(mezame.url + '/nodegroups?env=prod');
    await expect(page.getByTestId('spot-ready-saving')).toContainText(/spot-ready microservice\(s\) to spot would save \$\d+\.\d\d\/month/);
    await page.getByTestId('placement-ms').selectOption('order-service');
    await page.getByTestId('to-spot').click();
    const dialog = page.getByTestId('deploy-dialog');
    await expect(dialog.getByTestId('review-result')).toContainText('+ tolerations:');
    await expect(dialog.getByTestId('review-result')).toContainText('prod/manifests/order-service/');
    await expect(dialog.getByTestId('apply')).toBeDisabled();
    await dialog.getByTestId('confirm-env').fill('prod');
    await dialog.getByTestId('apply').click();
    const done = page.getByTestId('placement-done');
    await expect(done).toContainText('may run on spot in prod');
    await expect(done).toContainText('waiting for a person to merge it');
    const branch = (await done.textContent())!.match(/branch (mezame\/spot\/prod\/order-service-\S+),/)![1];
    expect(git('rev-parse', 'master')).toBe(master);
    expect(git('diff', '--name-only', 'master', branch)).toMatch(/^prod\/manifests\/order-service\/[^\n]*deployment[^\n]*$/);
    // Back to on-demand: nothing to change on master, said in the dialog.
    await page.getByTestId('to-on-demand').click();
    await expect(page.getByTestId('deploy-dialog').getByRole('alert').first()).toContainText('runs on on-demand nodes already');
    expect(problems).toEqual([]);
    git('branch', '-D', branch);
  });
});
