// Changing capacity from the Node groups page in a real browser: new sizes are
// reviewed (before → after, the server's dry run) before anything is applied,
// a refused change says why and cannot be applied, a node is cordoned and
// uncordoned with confirmation (the API server follows), and a viewer is
// offered no action at all.
import { test, expect } from '@playwright/test';
import { startMezame, sandboxEnvs, Mezame, actAs, kubectl, watch } from './server';

let mezame: Mezame;
test.beforeAll(async () => { mezame = await startMezame(sandboxEnvs()); });
test.afterAll(() => mezame.stop());

test.describe('as an operator', () => {
  test.use(actAs('operator'));

  test('reviews new sizes before applying, sees a refusal, and cordons then uncordons a node', async ({ page }) => {
    const problems = watch(page, [422]);
    await page.goto(mezame.url + '/nodegroups?env=dev');
    const system = page.locator('[data-testid="group"][data-name="system"]');
    await expect(system.getByTestId('sizes')).toContainText('min 1 · desired 2 · max 3', { timeout: 60_000 });

    await system.getByTestId('edit-sizes').click();
    const dialog = page.getByTestId('change-dialog');
    await dialog.getByTestId('max').fill('4');
    await dialog.getByTestId('review').click();
    await expect(dialog.getByTestId('review-result')).toContainText('min 1 / desired 2 / max 3 → min 1 / desired 2 / max 4');
    await expect(dialog.getByTestId('apply')).toBeEnabled();
    await dialog.getByTestId('desired').fill('9');
    await expect(dialog.getByTestId('apply')).toBeDisabled();
    await dialog.getByTestId('review').click();
    await expect(dialog.getByRole('alert')).toContainText('min ≤ desired ≤ max');
    await expect(dialog.getByTestId('apply')).toBeDisabled();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toHaveCount(0);

    const row = system.getByTestId('node').first();
    const name = (await row.getAttribute('data-node'))!;
    const unschedulable = () => kubectl('dev', 'get', 'node', name, '-o', 'jsonpath={.spec.unschedulable}');
    await row.getByTestId('cordon').click();
    await expect(page.getByTestId('change-dialog')).toContainText(`Cordon ${name}?`);
    await page.getByTestId('change-dialog').getByTestId('apply').click();
    await expect(page.getByTestId('change-outcome')).toHaveText(`node ${name} cordoned`);
    expect(unschedulable()).toBe('true');
    const same = system.locator(`[data-testid="node"][data-node="${name}"]`);
    await expect(same).toContainText('Ready, cordoned', { timeout: 15_000 });
    await same.getByTestId('cordon').click();
    await page.getByTestId('change-dialog').getByTestId('apply').click();
    await expect(page.getByTestId('change-outcome')).toHaveText(`node ${name} schedulable again`);
    expect(unschedulable()).toBe('');
    // The sizes were only reviewed: AWS still has max 3.
    await page.reload();
    await expect(system.getByTestId('sizes')).toContainText('min 1 · desired 2 · max 3', { timeout: 60_000 });
    expect(problems).toEqual([]);
  });
});

test.describe('as a viewer', () => {
  test.use(actAs('viewer'));

  test('is offered no action', async ({ page }) => {
    const problems = watch(page);
    await page.goto(mezame.url + '/nodegroups?env=dev');
    const system = page.locator('[data-testid="group"][data-name="system"]');
    await expect(system.getByTestId('node').first()).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('edit-sizes')).toHaveCount(0);
    await expect(page.getByTestId('cordon')).toHaveCount(0);
    expect(problems).toEqual([]);
  });
});
