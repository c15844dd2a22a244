// Global setup: the browser tests start on a settled sandbox. They run right
// after `cargo test`, whose last tests put dev to sleep and wake it; a suite
// begun while an environment is still coming up fails in ways that say
// nothing of the cause. Waits up to 4 minutes, then says what is not there.
import { sandboxStatus } from './server';
import { deadComponents, unsettled, describeSandbox } from './sandbox-state';

export default async function settle(): Promise<void> {
  const status = sandboxStatus();
  const envs = Object.keys(status.envs ?? {});
  // A component that exited does not come back by waiting.
  const dead = envs.flatMap((env) => deadComponents(env, status).map((c) => `${env}: ${c}`));
  if (dead.length > 0) throw new Error(`the sandbox's control plane is not whole: not running ${dead.join(', ')}\n${describeSandbox()}`);
  const started = Date.now();
  let left: string[] = [];
  while (Date.now() - started < 4 * 60_000) {
    left = envs.flatMap((env) => unsettled(env).map((u) => `${env}: ${u}`));
    if (left.length === 0) {
      console.log(`the sandbox is settled (${envs.join(', ')}) after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`the sandbox did not settle within 4 min:\n${left.slice(0, 12).join('\n')}\n${describeSandbox()}`);
}
