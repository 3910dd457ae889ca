/**
 * Runs the benchmarks under `bench/`, each in its own process so that one benchmark's
 * heap and JIT state do not colour the next one.
 *
 * TypeScript is compiled by `bench/loader.mjs` with esbuild the way a build compiles it
 * (no `keepNames`) — what a user of the published packages runs. Running it through tsx
 * instead would measure tsx's `keepNames` transform, which redefines the `name` of every
 * closure and makes closure-heavy code (all Effect code) markedly slower and larger.
 *
 * Usage: `pnpm bench` (all) or `pnpm bench core-overhead eventstream` (a selection).
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

if (benches.length === 0) {
  console.error(`no benchmark matches ${wanted.join(", ")}`)
  process.exit(2)
}

let failed = 0
for (const name of benches) {
  console.log(`\n=== bench/${name}.bench.ts ===`)
  const result = spawnSync(
    process.execPath,
    ["--expose-gc", "--enable-source-maps", "--import", join(here, "register.mjs"), join(here, `${name}.bench.ts`)],
    { stdio: "inherit", cwd: join(here, "..") }
  )
  if (result.status !== 0) {
    failed++
    console.log(`!!! ${name} exited with ${result.status ?? result.signal}`)
  }
}
process.exit(failed === 0 ? 0 : 1)
