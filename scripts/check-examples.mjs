/**
 * Type-checks every `@example` in the public modules (`packages/<name>/src/*.ts`): each
 * example is written to `packages/<name>/.examples/` as a module of its own (so it sees
 * that package's dependencies, and the package itself by name) and compiled with the
 * repository's strict settings. An example that does not compile fails the check.
 *
 * Usage: `node scripts/check-examples.mjs` (part of `pnpm test`).
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const root = join(import.meta.dirname, "..")
const tsc = join(root, "node_modules", ".bin", "tsc")

let total = 0
let failed = 0
for (const pkg of readdirSync(join(root, "packages"))) {
  const out = join(root, "packages", pkg, ".examples")
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  const origins = new Map()
  let count = 0
  const src = join(root, "packages", pkg, "src")
  for (const file of readdirSync(src).filter((name) => name.endsWith(".ts"))) {
    const text = readFileSync(join(src, file), "utf8")
    for (const comment of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
      const lines = comment[1].split("\n").map((line) => line.replace(/^\s*\* ?/, ""))
      const startLine = text.slice(0, comment.index).split("\n").length
      let example
      const flush = () => {
        if (example === undefined) return
        const code = example.code.join("\n").replace(/^```ts\n|```\s*$/gm, "").trim()
        const name = `${file.replace(/\.ts$/, "")}-${++count}.ts`
        origins.set(name, `packages/${pkg}/src/${file}:${example.line}`)
        // A module of its own, so that examples do not clash.
        writeFileSync(join(out, name), `${code}\n\nexport {}\n`)
        example = undefined
      }
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i]
        if (line.startsWith("@example")) {
          flush()
          example = { code: [], line: startLine + i }
        } else if (line.startsWith("@")) {
          flush()
        } else if (example !== undefined) {
          example.code.push(line)
        }
      }
      flush()
    }
  }
  total += count
  if (count === 0) continue
  writeFileSync(
    join(out, "tsconfig.json"),
    JSON.stringify({
      extends: "../../../tsconfig.base.json",
      compilerOptions: { noEmit: true, noUnusedLocals: false, types: ["node"] },
      include: ["*.ts"]
    })
  )
  try {
    execFileSync(tsc, ["-p", join(out, "tsconfig.json")], { cwd: out, encoding: "utf8", stdio: "pipe" })
  } catch (error) {
    const failing = new Set()
    for (const line of String(error.stdout ?? error).split("\n")) {
      const match = /^([^()\s]+\.ts)\((\d+),\d+\): (.*)$/.exec(line)
      if (match) {
        failing.add(match[1])
        console.log(`${origins.get(match[1]) ?? match[1]} (example line ${match[2]}): ${match[3]}`)
      } else if (line.trim() !== "") console.log(`  ${line.trim()}`)
    }
    failed += failing.size
  }
}
if (failed > 0) {
  console.log(`${failed} of ${total} examples do not compile`)
  process.exit(1)
}
console.log(`all ${total} examples compile`)
