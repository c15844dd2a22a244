// A reporter that keeps what CI must show last: each failed test with the
// first lines of its error, and the sandbox as it was when the suite ended
// (`cargo xtask test` prints this file after the sandbox is down).
import type { Reporter, TestCase, TestError, TestResult } from '@playwright/test/reporter';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describeSandbox } from './sandbox-state';

const FILE = process.env.MEZAME_PLAYWRIGHT_FAILURES ?? 'target/playwright-failures.txt';
const ANSI = /\u001b\[[0-9;]*m/g;

export default class FailuresReporter implements Reporter {
  private failed: string[] = [];

  onTestEnd(test: TestCase, result: TestResult): void {
    if (result.status === 'passed' || result.status === 'skipped') return;
    const error = (result.error?.message ?? result.status).replace(ANSI, '').split('\n').filter((l) => l.trim()).slice(0, 4);
    const where = `${test.location.file.split('/').pop()}:${test.location.line}`;
    this.failed.push(`✘ ${where} ${test.title} (${(result.duration / 1000).toFixed(0)} s)\n    ${error.join('\n    ')}`);
  }

  /// Errors outside a test (the global setup's, a file that does not load).
  onError(error: TestError): void {
    this.failed.push(`✘ ${(error.message ?? String(error.value)).replace(ANSI, '').split('\n').filter((l) => l.trim()).slice(0, 16).join('\n    ')}`);
  }

  onEnd(): void {
    mkdirSync(dirname(FILE), { recursive: true });
    if (this.failed.length === 0) { writeFileSync(FILE, ''); return; }
    let sandbox: string;
    try { sandbox = describeSandbox(); } catch (e) { sandbox = `(the sandbox could not be read: ${e})`; }
    writeFileSync(FILE, `${this.failed.join('\n')}\nthe sandbox when the suite ended:\n${sandbox}\n`);
  }
}
