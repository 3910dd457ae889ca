/**
 * Where the demo keeps its execution records: in memory (gone when the process ends), or
 * in a SQLite file (`@truce/sql`), which is what lets a second run resume an interrupted
 * one. One switch: `--store memory` or `--store <file>`.
 */
import { CmdExecutionMap } from "@truce/core"
import { Effect, Layer } from "effect"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"

/** The store to use. */
export type StoreChoice =
  | { readonly kind: "memory" }
  | { readonly kind: "sqlite"; readonly filename: string }

/** Reads `--store`: `memory`, or a file name. */
export const parseStore = (value: string): StoreChoice =>
  value === "memory" ? { kind: "memory" } : { kind: "sqlite", filename: value }

const mapOptions: CmdExecutionMap.Options = {
  // A run's records are what a later run resumes from: keep them a week.
  retention: "7 days"
}

/** The execution map over the chosen store. */
export const mapLayer = (choice: StoreChoice): Layer.Layer<CmdExecutionMap.CmdExecutionMap, unknown> => {
  if (choice.kind === "memory") return CmdExecutionMap.layerMemory(mapOptions)
  return Layer.unwrapEffect(
    Effect.gen(function*() {
      mkdirSync(dirname(choice.filename), { recursive: true })
      // Loaded only when asked for, so the in-memory demo needs no native module.
      const { SqliteExecutionStore } = yield* Effect.promise(() => import("@truce/sql"))
      return CmdExecutionMap.layer(mapOptions).pipe(
        Layer.provide(SqliteExecutionStore.layer({ filename: choice.filename }))
      )
    })
  )
}
