// Helpers shared by the page specs (ui.spec.ts, demo.spec.ts).
import { expect, type Page } from '@playwright/test';

/** Start from an empty OPFS: no cached model, no runs. */
export async function fresh(page: Page): Promise<void> {
  await page.goto('/');
  await page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    for await (const name of (root as unknown as { keys(): AsyncIterable<string> }).keys()) await root.removeEntry(name, { recursive: true });
    localStorage.clear();
  });
  await page.reload();
  await expect(page.locator('#status')).toContainText('Ready', { timeout: 60_000 });
}

/** The rows of #results-table as text, by method. */
export async function resultsTable(page: Page): Promise<Record<string, string[]>> {
  const rows = await page.locator('#results-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
  return Object.fromEntries(rows.map((r) => [r[0], r.slice(1)]));
}
