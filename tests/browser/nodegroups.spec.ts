// Changing capacity from the Node groups page in a real browser: new sizes are
// reviewed (before → after, the server's dry run) before they are applied (and
// AWS follows), a refused change says why and cannot be applied, a lower
// desired of an Auto Scaling group names the node it would drain and
// terminate, a node is
// cordoned and uncordoned with confirmation (the API server follows), a drain
// shows its preflight, then runs, followed live — and one held up by a budget
// is cancelled, then retried once the budget allows; a viewer is offered no action
// and sees a rebalance recommendation land on its spot pool's timeline; the
// microservice picked to move to spot stays picked when the view changes.
import { test, expect } from '@playwright/test';
import { startMezame, sandboxEnvs, Mezame, actAs, kubectl, sandboxCmd, watch, api } from './server';

let mezame: Mezame;
test.beforeAll(async () => { mezame = await startMezame(sandboxEnvs()); });
test.afterAll(() => mezame.stop());

test.describe('as an operator', () => {
  test.use(actAs('operator'));

  test('reviews then applies new sizes, sees a refusal, cordons, drains and uncordons a node', async ({ page }) => {
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
    // Applied for real: AWS (moto) has max 4, the page says so; then back to 3.
    for (const max of ['4', '3']) {
      await system.getByTestId('edit-sizes').click();
      await dialog.getByTestId('max').fill(max);
      await dialog.getByTestId('review').click();
      await expect(dialog.getByTestId('apply')).toBeEnabled();
      await dialog.getByTestId('apply').click();
      await expect(dialog).toHaveCount(0);
      await expect(system.getByTestId('sizes')).toContainText(`min 1 · desired 2 · max ${max}`, { timeout: 15_000 });
      const aws = await (await api(`${mezame.url}/api/envs/dev/capacity`)).json();
      expect(aws.groups.find((g: any) => g.name === 'system').max, 'what AWS has').toBe(Number(max));
    }

    // Lowering an Auto Scaling group's desired names, before anything is
    // applied, the node mezame would drain and then terminate.
    const spot = page.locator('[data-testid="group"][data-kind="asg"]');
    const cap = await (await api(`${mezame.url}/api/envs/dev/capacity`)).json();
    const desired: number = cap.groups.find((g: any) => g.kind === 'asg').desired;
    expect(desired, 'dev runs spot nodes').toBeGreaterThan(0);
    await expect(spot.getByTestId('node')).toHaveCount(desired, { timeout: 30_000 });
    const spotNodes = await spot.getByTestId('node').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node')));
    await spot.getByTestId('edit-sizes').click();
    await dialog.getByTestId('min').fill('0');
    await dialog.getByTestId('desired').fill(String(desired - 1));
    await dialog.getByTestId('review').click();
    await expect(dialog.getByTestId('review-result')).toContainText(`desired ${desired} → ${desired - 1} by a safe scale-in`);
    const line = dialog.getByTestId('review-result').getByText('drained, then terminated:');
    await expect(line).toHaveCount(1);
    const named = (await line.textContent())!.replace('drained, then terminated: ', '').split(' ')[0];
    expect(spotNodes, 'one of the group\'s nodes').toContain(named);
    await expect(dialog.getByTestId('apply')).toBeEnabled();
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
    // A drain shows its preflight first; cancelled, nothing changes.
    await same.getByTestId('drain').click();
    await expect(page.getByTestId('review-result')).toContainText('pod(s) are evicted (PodDisruptionBudgets honoured, at most 300 s)');
    await page.getByTestId('change-dialog').getByRole('button', { name: 'Cancel' }).click();
    await expect(page.getByTestId('change-dialog')).toHaveCount(0);
    expect(unschedulable()).toBe('');
    // Drained for real: the run is followed live on the page to its end; the
    // node stays cordoned, its app pods gone elsewhere; then uncordoned.
    await same.getByTestId('drain').click();
    await expect(page.getByTestId('review-result')).toContainText('evicted');
    await page.getByTestId('change-dialog').getByTestId('apply').click();
    const run = page.getByTestId('drain-run').getByTestId('run');
    await expect(run).toHaveAttribute('data-state', 'succeeded', { timeout: 90_000 });
    await expect(run.locator('[data-testid=step][data-state=done]')).toHaveCount(3);
    expect(unschedulable()).toBe('true');
    const left = kubectl('dev', 'get', 'pods', '-A', '--field-selector', `spec.nodeName=${name}`, '-o', 'jsonpath={range .items[*]}{.metadata.ownerReferences[0].kind} {end}');
    expect(left.split(' ').filter((k) => k === 'ReplicaSet'), `no Deployment pod left on ${name}: ${left}`).toEqual([]);
    await expect(same).toContainText('cordoned', { timeout: 15_000 });
    await same.getByTestId('cordon').click();
    await page.getByTestId('change-dialog').getByTestId('apply').click();
    await expect(page.getByTestId('change-outcome')).toHaveText(`node ${name} schedulable again`);
    expect(unschedulable()).toBe('');
    expect(problems).toEqual([]);
  });

  test('cancels a drain that a budget holds up, then retries it once the budget lets the pod go', async ({ page }) => {
    await page.goto(mezame.url + '/nodegroups?env=dev');
    await expect(page.getByTestId('node').first()).toBeVisible({ timeout: 60_000 });
    const onPage = await page.getByTestId('node').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node')));
    // A Deployment's running pod on one of the page's nodes, and a budget that lets none of its pods go.
    const pods = JSON.parse(kubectl('dev', 'get', 'pods', '-A', '-o', 'json')).items;
    const pod = pods.find((p: any) => onPage.includes(p.spec.nodeName) && p.status.phase === 'Running'
      && p.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet' && !p.metadata.deletionTimestamp);
    expect(pod, 'a Deployment pod on a node of dev').toBeTruthy();
    const ns: string = pod.metadata.namespace;
    const name: string = pod.spec.nodeName;
    const labels = pod.metadata.labels;
    const selector = Object.keys(labels).filter((k) => k !== 'pod-template-hash').map((k) => `${k}=${labels[k]}`).join(',');
    kubectl('dev', 'create', 'poddisruptionbudget', 'e2e-hold', '-n', ns, '--selector', selector, '--max-unavailable', '0');
    const onNode = () => kubectl('dev', 'get', 'pods', '-n', ns, '--field-selector', `spec.nodeName=${name}`, '-o', 'jsonpath={.items[*].metadata.name}');
    try {
      const row = page.locator(`[data-testid="node"][data-node="${name}"]`);
      await row.getByTestId('drain').click();
      await expect(page.getByTestId('review-result')).toContainText('e2e-hold');
      await page.getByTestId('change-dialog').getByTestId('apply').click();
      const run = page.getByTestId('drain-run').getByTestId('run');
      await expect(run).toHaveAttribute('data-state', 'running', { timeout: 15_000 });
      await expect(run.locator('[data-testid=step][data-state=done]')).toHaveCount(1, { timeout: 15_000 });
      // Held up by the budget: cancelled from the page, the pod stays where it is.
      await run.getByRole('button', { name: 'Cancel' }).click();
      await expect(run).toHaveAttribute('data-state', 'cancelled', { timeout: 30_000 });
      await expect(run).toContainText('still to evict');
      expect(onNode(), 'the held pod was not evicted').toContain(pod.metadata.name);
      // The budget lifted: retried from the failed step, the drain ends.
      kubectl('dev', 'delete', 'poddisruptionbudget', 'e2e-hold', '-n', ns);
      await run.getByRole('button', { name: 'Retry from the failed step' }).click();
      await expect(run).toHaveAttribute('data-state', 'succeeded', { timeout: 90_000 });
      expect(onNode(), 'the pod went elsewhere').not.toContain(pod.metadata.name);
    } finally {
      kubectl('dev', 'delete', 'poddisruptionbudget', 'e2e-hold', '-n', ns, '--ignore-not-found');
      kubectl('dev', 'uncordon', name);
    }
  });
});

test.describe('as a viewer', () => {
  test.use(actAs('viewer'));

  test('is offered no action, and sees a change made elsewhere without a reload', async ({ page }) => {
    const problems = watch(page);
    await page.goto(mezame.url + '/nodegroups?env=dev');
    const system = page.locator('[data-testid="group"][data-name="system"]');
    await expect(system.getByTestId('node').first()).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('edit-sizes')).toHaveCount(0);
    await expect(page.getByTestId('cordon')).toHaveCount(0);
    // Cordoned with kubectl, not through the page: the server's cue has the
    // page read the view again, well before its 30 s fallback re-read.
    const row = system.getByTestId('node').first();
    const name = (await row.getAttribute('data-node'))!;
    const same = system.locator(`[data-testid="node"][data-node="${name}"]`);
    await expect(same).not.toContainText('cordoned');
    try {
      kubectl('dev', 'cordon', name);
      await expect(same).toContainText('cordoned', { timeout: 5_000 });
    } finally {
      kubectl('dev', 'uncordon', name);
    }
    await expect(same).not.toContainText('cordoned', { timeout: 5_000 });
    expect(problems).toEqual([]);
  });

  test('keeps the microservice picked to move to spot when a new read of the view draws the card again', async ({ page }) => {
    const problems = watch(page);
    await page.goto(mezame.url + '/nodegroups?env=dev');
    const pick = page.getByTestId('placement-ms');
    await expect(pick.locator('option').first()).toBeAttached({ timeout: 60_000 });
    const names = await pick.locator('option').evaluateAll((o) => o.map((e) => (e as HTMLOptionElement).value));
    const chosen = names[names.length - 1];
    expect(chosen).not.toBe(names[0]);
    await pick.selectOption(chosen);
    // A microservice that was not there: the view changes, the card is drawn again.
    try {
      kubectl('dev', 'create', 'deployment', 'e2e-pick', '-n', 'default', '--image=e2e.example/pick:v1');
      await expect(pick.locator('option[value="e2e-pick"]')).toBeAttached({ timeout: 15_000 });
      await expect(pick).toHaveValue(chosen);
    } finally {
      kubectl('dev', 'delete', 'deployment', 'e2e-pick', '-n', 'default', '--wait=false');
    }
    await expect(pick.locator('option[value="e2e-pick"]')).toHaveCount(0, { timeout: 15_000 });
    await expect(pick).toHaveValue(chosen);
    expect(problems).toEqual([]);
  });

  test('sees a rebalance recommendation on its pool\'s timeline as it happens: what is at risk there, no outage', async ({ page }) => {
    const problems = watch(page);
    await page.goto(mezame.url + '/nodegroups?env=dev');
    const spot = page.locator('[data-testid="group"][data-name="platform-dev-spot"]');
    await expect(spot.getByTestId('node').first()).toBeVisible({ timeout: 60_000 });
    const name = (await spot.getByTestId('node').first().getAttribute('data-node'))!;
    const key = 'aws-node-termination-handler/rebalance-recommendation';
    try {
      sandboxCmd('interrupt', '--env', 'dev', '--node', name, '--rebalance');
      // Its pool as EC2 has it: the node's instance type and zone labels (kwok's nodes carry AWS's).
      const type = kubectl('dev', 'get', 'node', name, '-o', 'jsonpath={.metadata.labels.node\\.kubernetes\\.io/instance-type}');
      const zone = kubectl('dev', 'get', 'node', name, '-o', 'jsonpath={.metadata.labels.topology\\.kubernetes\\.io/zone}');
      const entry = page.locator(`[data-testid="interruption"][data-node="${name}"][data-kind="rebalance_recommendation"]`);
      await expect(entry).toContainText('rebalance recommendation', { timeout: 5_000 });
      await expect(page.locator(`[data-testid="pool"][data-pool="${type} in ${zone}"]`)).toContainText('rebalance recommendation');
      const hits = entry.getByTestId('hit');
      if (await hits.count() > 0) await expect(hits.first()).toContainText('at risk there');
      else await expect(entry).toContainText('no microservice had a ready replica there');
      await expect(page.getByTestId('outages')).toHaveCount(0);
      await expect(spot.locator(`[data-testid="node"][data-node="${name}"]`)).not.toContainText('cordoned');
    } finally {
      kubectl('dev', 'taint', 'node', name, `${key}-`);
    }
    expect(problems).toEqual([]);
  });
});
