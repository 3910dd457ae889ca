/**
 * An automation server: three realistic commands exposed over HTTP with authentication,
 * permissions, concurrency limits, timeouts and signed callbacks.
 *
 *   node --import tsx examples/http-server/main.ts
 *
 * Environment: PORT (default 8080; 0 picks a free port), TRUCE_STORE (where execution
 * records are kept: a SQLite file, default `.truce/http-server.db` under the working
 * directory, or `memory`), TRUCE_CALLBACK_SECRET, TRUCE_JWT_SECRET, TRUCE_STEP_MS (how long
 * one simulated step takes, default 400). See README.md beside this file for curl commands.
 */
import { CmdBlock, CmdExecution, CmdExecutionMap, ExecutionStore, Interrupt, Progress } from "@truce/core"
import { Auth, TruceHttp } from "@truce/http"
import { Duration, Effect, Layer, Schema } from "effect"
import { mkdirSync } from "node:fs"
import { dirname, resolve } from "node:path"

const stepMs = Number(process.env.TRUCE_STEP_MS ?? 400)
const step = (times = 1) => Effect.sleep(Duration.millis(stepMs * times))

// --- backup-database: dump each table (bytes progress), then upload the archive -------------
// Resumable: when the server was killed during a backup, the next start of the server resumes
// it as a new execution that skips the tables already dumped.

const BackupInput = Schema.Struct({
  database: Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9_]{0,62}$/)),
  tables: Schema.optionalWith(Schema.Array(Schema.String), { default: () => ["users", "orders", "payments", "audit"] }),
  destination: Schema.optionalWith(Schema.String, { default: () => "s3://backups" })
})

const TableDump = Schema.Struct({ table: Schema.String, bytes: Schema.Number })

const backupDatabase = CmdExecution.make("backup-database", { input: BackupInput, concurrency: 1, resumable: true })
  .pipe(
    CmdExecution.andThen(CmdBlock.items({
      name: "dump-tables",
      items: (input: typeof BackupInput.Type) => input.tables.map((table) => ({ database: input.database, table })),
      id: (item) => item.table,
      concurrency: 2,
      // Recorded with each dumped table, so a resumed backup has the dumps it skips.
      state: TableDump,
      apply: (item, ctx) =>
        Effect.gen(function*() {
          const size = 64 * 1024 * 1024
          yield* ctx.progress.setLimit(Progress.Bytes(size))
          for (let chunk = 0; chunk < 4; chunk++) {
            // A cooperative stopping point inside the item: a graceful stop ends the dump here
            // (the table is not recorded as dumped, so a resumed backup dumps it again).
            yield* ctx.checkpoint
            yield* step()
            yield* ctx.progress.update({
              inc: size / 4,
              message: `${item.database}.${item.table}: ${chunk + 1}/4 chunks`
            })
          }
          return { table: item.table, bytes: size }
        })
    })),
    CmdExecution.andThen(CmdBlock.step({
      name: "upload-archive",
      run: (dumps: ReadonlyArray<typeof TableDump.Type>) =>
        step(2).pipe(Effect.as({ archive: `backup-${Date.now()}.tar.zst`, tables: dumps.length }))
    }))
  )

// --- deploy-service: build, roll out instance by instance, health-check ----------------------

const DeployInput = Schema.Struct({
  service: Schema.String,
  version: Schema.String.pipe(Schema.pattern(/^\d+\.\d+\.\d+$/)),
  instances: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 50)), { default: () => 4 })
})

class HealthCheckFailed extends Schema.TaggedError<HealthCheckFailed>()("HealthCheckFailed", {
  instance: Schema.String
}) {}

const deployService = CmdExecution.make("deploy-service", {
  input: DeployInput,
  strategy: Interrupt.FinishCurrent,
  concurrency: 2
}).pipe(
  CmdExecution.andThen(CmdBlock.step({
    name: "build-image",
    run: (input: typeof DeployInput.Type) =>
      step(2).pipe(Effect.as({ ...input, image: `registry.local/${input.service}:${input.version}` }))
  })),
  CmdExecution.andThen(CmdBlock.items({
    name: "roll-out",
    items: (plan: typeof DeployInput.Type & { readonly image: string }) =>
      Array.from({ length: plan.instances }, (_, i) => ({ instance: `${plan.service}-${i + 1}`, image: plan.image })),
    id: (item) => item.instance,
    concurrency: 1,
    apply: (item, ctx) =>
      Effect.gen(function*() {
        yield* ctx.progress.setLimit(Progress.Steps(3))
        for (const phase of ["drain", "replace", "health-check"]) {
          yield* ctx.progress.message(`${item.instance}: ${phase}`)
          yield* step()
          yield* ctx.progress.inc(1)
        }
        if (item.image.endsWith(":0.0.0")) return yield* new HealthCheckFailed({ instance: item.instance })
        return item.instance
      })
  }))
)

// --- rotate-certificates: one certificate at a time; never interrupted half-way ---------------

const RotateInput = Schema.Struct({
  domains: Schema.Array(Schema.String).pipe(Schema.minItems(1))
})

const rotateCertificates = CmdExecution.make("rotate-certificates", { input: RotateInput, cancellable: false }).pipe(
  CmdExecution.andThen(CmdBlock.items({
    name: "rotate",
    items: (input: typeof RotateInput.Type) => input.domains,
    id: (domain) => domain,
    apply: (domain, ctx) =>
      Effect.gen(function*() {
        yield* ctx.progress.message(`issuing a certificate for ${domain}`)
        yield* step()
        yield* ctx.progress.message(`installing the certificate for ${domain}`)
        yield* step()
        return { domain, expires: new Date(Date.now() + 90 * 86_400_000).toISOString() }
      })
  }))
)

// --- where the execution records are kept -----------------------------------------------------

// The executions carry their own options (concurrency, resumable), so the executions a restarted
// server resumes behave like the ones it starts over HTTP.
const commands = [backupDatabase, deployService, rotateCertificates]

const mapOptions: CmdExecutionMap.Options = {
  retention: "24 hours",
  defaultTimeout: "8 hours",
  // Known at start: an execution left unfinished by a killed server is marked `Interrupted`
  // (source `process-lost`); one of a resumable command is then resumed.
  commands
}

/**
 * The map over a SQLite file (`@truce/sql`): records, transitions, item states and interrupts
 * survive restarts. Says which file, and what it recovered from a previous run.
 */
const sqliteMap = (filename: string) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    mkdirSync(dirname(filename), { recursive: true })
    // Loaded only when asked for, so `TRUCE_STORE=memory` needs no native module.
    const { SqliteExecutionStore } = yield* Effect.promise(() => import("@truce/sql"))
    const reportingMap = Effect.gen(function*() {
      const store = yield* ExecutionStore.ExecutionStore
      // What the map is about to recover: executions a previous process left unfinished.
      const unfinished = (yield* store.unfinished).map((record) => record.id)
      const map = yield* CmdExecutionMap.make(mapOptions)
      const resumed = unfinished.length === 0 ? [] : (yield* map.list({
        where: { resumedFrom: { op: "in", value: unfinished } },
        limit: 1000
      })).records
      const executions = unfinished.length === 1 ? "execution" : "executions"
      yield* Effect.log(
        `Execution records: SQLite file ${filename} (recovered ${unfinished.length} ${executions} a previous ` +
          `run left unfinished as Interrupted/process-lost, resumed ${resumed.length})`
      )
      return map
    })
    return Layer.scoped(CmdExecutionMap.CmdExecutionMap, reportingMap).pipe(
      Layer.provide(SqliteExecutionStore.layer({ filename }))
    )
  }))

const storeSetting = process.env.TRUCE_STORE ?? ".truce/http-server.db"

const executionMap = storeSetting === "memory"
  ? CmdExecutionMap.layerMemory(mapOptions).pipe(
    Layer.tap(() => Effect.log("Execution records: in memory (gone when the server stops)"))
  )
  : sqliteMap(resolve(storeSetting))

// --- the server -------------------------------------------------------------------------------

const server = TruceHttp.layerNode({
  port: Number(process.env.PORT ?? 8080),
  logAddress: true,
  commands: [
    TruceHttp.command(backupDatabase, {
      summary: "Back up a database (dump each table, upload the archive)",
      start: { groups: ["ops"] },
      permissions: { read: { groups: ["ops"] }, write: { groups: ["ops"] } },
      timeout: "2 hours"
    }),
    TruceHttp.command(deployService, {
      summary: "Deploy a service version, one instance at a time",
      start: { roles: ["deployer"] },
      permissions: { read: { groups: ["ops", "dev"] }, write: { roles: ["deployer"] } },
      timeout: "30 minutes"
    }),
    TruceHttp.command(rotateCertificates, {
      summary: "Rotate TLS certificates (cannot be cancelled)",
      start: { groups: ["ops"] },
      permissions: { read: { groups: ["ops"] } }
    })
  ],
  auth: {
    authenticators: [
      Auth.apiKey({
        keys: {
          "ops-alice-key": { id: "alice", groups: ["ops"], roles: ["deployer"] },
          "dev-bob-key": { id: "bob", groups: ["dev"] }
        }
      }),
      Auth.bearerJwt({ secret: process.env.TRUCE_JWT_SECRET ?? "dev-jwt-secret" })
    ],
    admins: { roles: ["admin"] }
  },
  callbacks: {
    secret: process.env.TRUCE_CALLBACK_SECRET ?? "dev-callback-secret",
    // Local demos call back to localhost; a real deployment allows no private ranges.
    allowAddresses: ["loopback"]
  },
  openApi: { title: "Automation server", description: "Backups, deployments and certificate rotation." }
})

Layer.launch(server).pipe(
  Effect.provide(executionMap),
  TruceHttp.runMain
)
