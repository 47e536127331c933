/**
 * Waits until `check` holds, polling every `everyMs`; fails after `timeoutMs` with an error that
 * names what was awaited (and the last value `check` saw, when it returns one). Tests wait for a
 * condition, never for a fixed time.
 */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
