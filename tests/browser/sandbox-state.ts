// What the test sandbox looks like to the browser tests: whether an
// environment is settled (every Application Synced and Healthy, every
// Deployment of the platform available), and a short account of what is not
// — printed when the suite starts on an unsettled sandbox or ends with failures.
import { kubectl, sandboxStatus } from './server';

function json(env: string, ...args: string[]): any[] {
  try { return JSON.parse(kubectl(env, ...args, '-o', 'json')).items ?? []; } catch { return []; }
}

function appReady(a: any): boolean {
  const s = a.status ?? {};
  return s.sync?.status === 'Synced' && s.health?.status === 'Healthy' && (s.history?.length ?? 0) > 0;
}

function available(d: any): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (s.conditions ?? []).some((c: any) => c.type === 'Available' && c.status === 'True')
    && (s.availableReplicas ?? 0) === want && (s.updatedReplicas ?? 0) === want;
}

/// What is not settled in `env` (empty when it is).
export function unsettled(env: string): string[] {
  const apps = json(env, 'get', 'applications.argoproj.io', '-n', 'argocd');
  const deps = json(env, 'get', 'deployments', '-n', 'platform');
  const out: string[] = [];
  if (apps.length !== 18) out.push(`${apps.length} Applications, not 18`);
  for (const a of apps.filter((a) => !appReady(a))) out.push(`Application ${a.metadata.name} ${a.status?.sync?.status}/${a.status?.health?.status}`);
  if (deps.length !== 17) out.push(`${deps.length} Deployments in platform, not 17`);
  for (const d of deps.filter((d) => !available(d))) {
    out.push(`Deployment ${d.metadata.name} ${d.status?.availableReplicas ?? 0}/${d.spec?.replicas ?? 1} available`);
  }
  return out;
}

/// The sandbox's processes of `env` that are not running (exited, or a zombie), as `mezame-sandbox status`
/// (read once by the caller that has it, `status`) sees them.
export function deadComponents(env: string, status: any = sandboxStatus()): string[] {
  return (status.envs?.[env]?.components ?? []).filter((c: any) => !c.running).map((c: any) => c.name);
}

/// A pod's line: where it is stuck, and why the scheduler left it unplaced.
function stuckPod(p: any): string {
  const unplaced = p.status?.conditions?.find((c: any) => c.type === 'PodScheduled' && c.status === 'False')?.message;
  return `${p.metadata.namespace}/${p.metadata.name} ${p.metadata.deletionTimestamp ? 'Terminating' : p.status?.phase}${unplaced ? ` (${unplaced})` : ''}`;
}

/// Nodes (ready, cordoned, tainted), pods not running and what is unsettled, per environment.
export function describeSandbox(): string {
  const lines: string[] = [];
  const status = sandboxStatus();
  for (const env of Object.keys(status.envs ?? {})) {
    const nodes = json(env, 'get', 'nodes');
    const ready = nodes.filter((n) => (n.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'));
    const cordoned = nodes.filter((n) => n.spec?.unschedulable).map((n) => n.metadata.name);
    const tainted = nodes.filter((n) => (n.spec?.taints ?? []).length > 0).map((n) => `${n.metadata.name}(${n.spec.taints.map((t: any) => t.key).join(',')})`);
    const pods = json(env, 'get', 'pods', '-A');
    const stuck = pods.filter((p) => !['Running', 'Succeeded'].includes(p.status?.phase) || p.metadata.deletionTimestamp).map(stuckPod);
    const dead = deadComponents(env, status);
    if (dead.length > 0) lines.push(`${env}: NOT RUNNING: ${dead.join(', ')}`);
    lines.push(`${env}: ${nodes.length} nodes, ${ready.length} Ready, cordoned [${cordoned.join(' ')}], tainted [${tainted.join(' ')}]; ${pods.length} pods, not running ${stuck.length}: ${stuck.slice(0, 8).join('; ')}`);
    for (const u of unsettled(env).slice(0, 8)) lines.push(`${env}: ${u}`);
  }
  return lines.join('\n');
}
