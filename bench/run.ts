/**
 * Runs every benchmark under `bench/` one after another, each in its own process so
 * that one benchmark's heap and JIT state do not colour the next one.
 *
 * Usage: `pnpm bench` (all) or `pnpm bench core-overhead eventstream` (a selection by name).
 */
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const wanted = process.argv.slice(2)
const benches = readdirSync(here)
  .filter((file) => file.endsWith(".bench.ts"))
  .map((file) => file.replace(/\.bench\.ts$/, ""))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort()

let failed = 0
for (const name of benches) {
  console.log(`\n=== bench/${name}.bench.ts ===`)
  const result = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", join(here, `${name}.bench.ts`)], {
    stdio: "inherit"
  })
  if (result.status !== 0) {
    failed++
    console.log(`!!! ${name} exited with ${result.status ?? result.signal}`)
  }
}
process.exit(failed === 0 ? 0 : 1)
