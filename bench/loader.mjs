/**
 * A Node module loader for the benchmarks: TypeScript is compiled with esbuild the way a
 * build would compile it (no `keepNames`, unlike tsx), and `./x.js` imports resolve to
 * `./x.ts`. Module resolution is otherwise Node's own.
 */
import { transform } from "esbuild"
import { existsSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { fileURLToPath, URL } from "node:url"

export async function resolve(specifier, context, nextResolve) {
  if ((specifier.startsWith(".") || specifier.startsWith("/")) && specifier.endsWith(".js") && context.parentURL) {
    const candidate = new URL(specifier.slice(0, -3) + ".ts", context.parentURL)
    if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true }
  }
  return nextResolve(specifier, context)
}

export async function load(url, context, nextLoad) {
  if (url.startsWith("file:") && url.endsWith(".ts") && !url.includes("/node_modules/.pnpm/")) {
    const path = fileURLToPath(url)
    const source = await readFile(path, "utf8")
    const result = await transform(source, {
      loader: "ts",
      format: "esm",
      target: "node20",
      sourcemap: "inline",
      sourcefile: path
    })
    return { format: "module", source: result.code, shortCircuit: true }
  }
  return nextLoad(url, context)
}
