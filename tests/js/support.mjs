// Starts a real ferryd for a JS test: loopback, free ports, a temp data dir, stopped by
// stop() (SIGTERM) and never left behind (killed when this process exits).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

export async function startFerryd(binary, extra = []) {
  const dir = mkdtempSync(join(tmpdir(), "ferry-js-"));
  const child = spawn(binary, ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                               "--data-dir", dir, "--log-level", "warn", ...extra],
                      { stdio: ["ignore", "pipe", "inherit"] });
  process.on("exit", () => child.kill("SIGKILL"));
  const lines = createInterface({ input: child.stdout });
  const addresses = await new Promise((resolve, reject) => {
    const found = {};
    const timer = setTimeout(() => reject(new Error("ferryd did not start")), 20000);
    lines.on("line", (line) => {
      const m = line.match(/^(http )?listening on (\S+)$/);
      if (!m) return;
      found[m[1] ? "http" : "wire"] = m[2];
      if (found.http && found.wire) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.on("exit", () => reject(new Error("ferryd exited")));
  });
  return {
    ...addresses,
    url: `http://${addresses.http}`,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.on("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function check(ok, what) {
  if (!ok) throw new Error("FAILED: " + what);
  console.log("ok: " + what);
}
