/**
 * Truce over HTTP on the durable SQLite store, end to end: a real server process
 * (`fixtures/httpSqliteServer.ts`) on a SQLite file in a temp dir, called with the real
 * `@truce/http` client and plain fetch; killed with SIGKILL and stopped with SIGINT, then
 * started again on the same file.
 *
 * Timing is controlled by gate files (a gated command runs until its file exists); the tests
 * wait for observable conditions (the server's start line, event streams, long polls, rows in
 * the file), never for fixed delays.
 */
import { Remote } from "@truce/cli"
import type { ExecutionEvent, ExecutionRecord } from "@truce/core"
import { ExecutionStore } from "@truce/core"
import { Client } from "@truce/http"
import { SqliteExecutionStore } from "@truce/sql"
import { Effect, ManagedRuntime, Redacted, Stream } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, afterEach, describe, expect, it } from "vitest"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const fixture = join(root, "test", "fixtures", "httpSqliteServer.ts")

const keys = { alice: "alice-key", bob: "bob-key", admin: "admin-key" } as const

// --- temp dirs and server processes (all cleaned up, also when a test fails) ------------------

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A temp dir holding the database, the gate files and the item log. */
const workspace = () => {
  const dir = mkdtempSync(join(tmpdir(), "truce-http-sqlite-"))
  dirs.push(dir)
  const gates = join(dir, "gates")
  mkdirSync(gates)
  return { db: join(dir, "truce.db"), gates, log: join(dir, "items.log") }
}

type Workspace = ReturnType<typeof workspace>

const children = new Set<ChildProcess>()
afterEach(() => {
  for (const child of children) child.kill("SIGKILL")
  children.clear()
})

interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

interface Server {
  readonly url: string
  /** What the map recovered from a previous process: `RECOVERED <n> RESUMED <m>`. */
  readonly recovered: { readonly unfinished: number; readonly resumed: number }
  readonly output: () => string
  readonly kill: (signal: NodeJS.Signals) => Promise<Exit>
}

/** Starts the fixture server on the workspace's file; resolves once it listens. */
const launch = (space: Workspace): Promise<Server> => {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, space.db, space.gates, space.log], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.add(child)
  let output = ""
  const exited = new Promise<Exit>((resolve) =>
    child.on("exit", (code, signal) => {
      children.delete(child)
      resolve({ code, signal })
    })
  )
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
  return new Promise<Server>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output}`)), 30_000)
    const check = () => {
      const port = /Listening on http:\/\/[^:]+:(\d+)/.exec(output)
      const recovered = /RECOVERED (\d+) RESUMED (\d+)/.exec(output)
      if (port === null || recovered === null) return
      clearTimeout(timer)
      child.stdout.off("data", check)
      resolve({
        url: `http://127.0.0.1:${port[1]}`,
        recovered: { unfinished: Number(recovered[1]), resumed: Number(recovered[2]) },
        output: () => output,
        kill: (signal) => {
          child.kill(signal)
          return exited
        }
      })
    }
    child.stdout.on("data", check)
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`the server exited:\n${output}`))
    })
  })
}

// --- calling the server ---------------------------------------------------------------------

/**
 * Runs a use of the real client, authenticated with an API key (over `fetch`: the layer of
 * `@truce/cli`, as the root has no `@effect/platform` of its own).
 */
const clientOf = (server: Server, key: string) => {
  const layer = Remote.clientLayer({ server: server.url, apiKey: Redacted.make(key) })
  return <A, E>(use: (client: Client.Client) => Effect.Effect<A, E>): Promise<A> =>
    Effect.runPromise(Effect.flatMap(Client.TruceClient, use).pipe(Effect.provide(layer)))
}

/** The typed error of a client call that is expected to fail. */
const failureOf = <A, E>(use: Effect.Effect<A, E>) => Effect.flip(use)

/** Plain fetch with an API key. */
const call = (server: Server, key: string, path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, {
    ...init,
    headers: {
      "x-api-key": key,
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      ...(init.headers as Record<string, string> | undefined)
    }
  })

const json = async <A>(response: Response): Promise<A> => (await response.json()) as A

interface Raw {
  readonly id: string
  readonly state: string
  readonly owner?: string
  readonly resumedFrom?: string
  readonly interrupt?: { readonly source: string }
  readonly outcome?: { readonly _tag: string }
  readonly progress: { readonly seq: number; readonly items: { readonly skipped: number } }
}

interface SseEvent {
  readonly id: string | undefined
  readonly event: string | undefined
  readonly data: string | undefined
}

const parseSse = (text: string): Array<SseEvent> =>
  text.split("\n\n").map((block) => {
    const fields = new Map<string, string>()
    for (const line of block.split("\n")) {
      const colon = line.indexOf(":")
      if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart())
    }
    return { id: fields.get("id"), event: fields.get("event"), data: fields.get("data") }
  }).filter((event) => event.event !== undefined)

/** Reads an event stream until its text contains `marker` (without one: until it ends). */
const readUntil = async (reader: ReadableStreamDefaultReader<Uint8Array>, marker?: string, sofar = "") => {
  const decoder = new TextDecoder()
  let text = sofar
  while (marker === undefined || !text.includes(marker)) {
    const chunk = await reader.read()
    if (chunk.done) return { text, done: true }
    text += decoder.decode(chunk.value, { stream: true })
  }
  return { text, done: false }
}

/** Waits until the execution runs its first block (its event stream says so). */
const running = (client: ReturnType<typeof clientOf>, id: string) =>
  client((c) =>
    c.watch(id).pipe(
      Stream.takeUntil((event: ExecutionEvent.ExecutionEvent) => event._tag === "BlockStarted"),
      Stream.runCollect
    )
  )

/** Two `hold` executions running (the command's limit), then a third one, queued behind them. */
const twoRunningOneQueued = async (
  owner: ReturnType<typeof clientOf>,
  third: ReturnType<typeof clientOf>
): Promise<readonly [string, string, string]> => {
  const h1 = (await owner((c) => c.start("hold", { gate: "never" }))).id
  const h2 = (await owner((c) => c.start("hold", { gate: "never" }))).id
  await running(owner, h1)
  await running(owner, h2)
  const h3 = (await third((c) => c.start("hold", { gate: "never" }))).id
  expect((await third((c) => c.get(h3))).state).toBe("Queued")
  return [h1, h2, h3]
}

const openGate = (space: Workspace, name: string) => writeFileSync(join(space.gates, name), "")

/** Polls an observable condition (rows in the file) until it holds. */
const eventually = async (what: string, check: () => Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

// --- the file itself --------------------------------------------------------------------------

/** The store on the file, opened by this process (reads see what the server committed). */
const storeOn = (db: string) => ManagedRuntime.make(SqliteExecutionStore.layer({ filename: db }))

const itemStatuses = (store: ReturnType<typeof storeOn>, id: string) =>
  store.runPromise(
    Effect.flatMap(ExecutionStore.ExecutionStore, (s) => s.itemStates(id as ExecutionRecord.ExecutionId))
  )
    .then((states) => new Map(states.map((state) => [state.item, state.status])))

interface Sqlite {
  readonly pragma: (source: string) => ReadonlyArray<{ readonly integrity_check: string }>
  readonly close: () => void
}

/** `PRAGMA integrity_check` with better-sqlite3 (the driver of `@effect/sql-sqlite-node`). */
const integrityCheck = (db: string): Array<string> => {
  const fromSqlPackage = createRequire(join(root, "packages", "sql", "package.json"))
  const driver = createRequire(fromSqlPackage.resolve("@effect/sql-sqlite-node/package.json"))
  const Database = driver("better-sqlite3") as new(file: string, options: { readonly readonly: boolean }) => Sqlite
  const connection = new Database(db, { readonly: true })
  try {
    return connection.pragma("integrity_check").map((row) => row.integrity_check)
  } finally {
    connection.close()
  }
}

const lineCounts = (log: string) => {
  const counts = new Map<string, number>()
  if (!existsSync(log)) return counts
  for (const line of readFileSync(log, "utf8").split("\n")) {
    if (line.length > 0) counts.set(line, (counts.get(line) ?? 0) + 1)
  }
  return counts
}

/** Adds the server's output to a failure. */
const withOutput = async <A>(servers: () => ReadonlyArray<Server>, body: () => Promise<A>): Promise<A> => {
  try {
    return await body()
  } catch (error) {
    const outputs = servers().map((server, i) => `--- server ${i + 1} ---\n${server.output()}`).join("\n")
    throw new Error(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n${outputs}`)
  }
}

describe("HTTP on the SQLite store (real server processes)", () => {
  it(
    "two principals: reads, long polls, event streams, lists and queries see exactly their readable records",
    async () => {
      const space = workspace()
      const server = await launch(space)
      await withOutput(() => [server], async () => {
        expect(server.recovered).toEqual({ unfinished: 0, resumed: 0 })
        const alice = clientOf(server, keys.alice)
        const bob = clientOf(server, keys.bob)

        const a1 = (await alice((c) => c.start("quick", { n: 1 }))).id
        const a2 = (await alice((c) => c.start("quick", { n: 2 }, { permissions: { read: { users: ["bob"] } } }))).id
        const a3 = (await alice((c) => c.start("quick", { n: 3 }, { permissions: { read: { groups: ["dev"] } } }))).id
        const a4 = (await alice((c) => c.start("hold", { gate: "a4" }))).id
        const b1 = (await bob((c) => c.start("quick", { n: 10 }))).id
        const b2 = (await bob((c) => c.start("quick", { n: 11 }))).id
        const b3 = (await bob((c) => c.start("hold", { gate: "b3" }))).id
        const readableBy: Record<"alice" | "bob", Array<string>> = {
          alice: [a1, a2, a3, a4],
          bob: [a2, a3, b1, b2, b3]
        }

        // GET: the owner and grantees read it; anyone else gets 404, like an unknown id.
        expect((await call(server, keys.alice, `/executions/${a1}`)).status).toBe(200)
        expect((await call(server, keys.bob, `/executions/${a1}`)).status).toBe(404)
        expect((await call(server, keys.bob, `/executions/${a2}`)).status).toBe(200)
        expect((await call(server, keys.alice, `/executions/${b1}`)).status).toBe(404)
        expect((await call(server, keys.alice, `/executions/00000000-0000-4000-8000-000000000000`)).status).toBe(404)
        const unreadable = await call(server, keys.bob, `/executions/${a1}/interrupt`, { method: "POST", body: "{}" })
        expect(unreadable.status).toBe(404)
        expect((await call(server, keys.bob, `/executions/${a1}/events`)).status).toBe(404)
        // readable but not writable
        expect((await call(server, keys.bob, `/executions/${a3}`, { method: "DELETE" })).status).toBe(403)
        const notFound = await bob((c) => failureOf(c.get(a1)))
        expect(notFound._tag).toBe("ExecutionNotFound")

        // Long polls answer with the finished records (the quick ones end at once).
        for (const id of [a1, a2, a3]) {
          const record = await json<Raw>(await call(server, keys.alice, `/executions/${id}?wait=30s`))
          expect(record.state).toBe("Succeeded")
          expect(record.outcome?._tag).toBe("Complete")
        }
        const bobs = await bob((c) => c.awaitAll([b1, b2]))
        expect(bobs.map((record) => record.state)).toEqual(["Succeeded", "Succeeded"])
        // `Prefer: wait`: the finished record in the start's answer.
        const inline = await call(server, keys.bob, "/commands/quick/executions", {
          method: "POST",
          headers: { prefer: "wait=10" },
          body: JSON.stringify({ input: { n: 12 } })
        })
        expect(inline.status).toBe(200)
        const b4 = await json<Raw>(inline)
        expect(b4.state).toBe("Succeeded")
        readableBy.bob.push(b4.id)

        // A live event stream (plain fetch, SSE) from the first event to `Finished`.
        await running(alice, a4)
        const events = await call(server, keys.alice, `/executions/${a4}/events`)
        expect(events.status).toBe(200)
        expect(events.headers.get("content-type")).toMatch(/^text\/event-stream/)
        const reader = events.body!.getReader()
        const head = await readUntil(reader, "event: BlockStarted")
        expect(head.done).toBe(false)
        openGate(space, "a4")
        const whole = await readUntil(reader, undefined, head.text)
        expect(whole.done).toBe(true)
        const parsed = parseSse(whole.text)
        expect(parsed.at(-1)?.event).toBe("Finished")
        const seqs = parsed.map((event) => Number(event.id))
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
        expect(JSON.parse(parsed.at(-1)?.data ?? "{}").state).toBe("Succeeded")

        // The client's watch, to the end, while the execution finishes; and its long-poll await.
        await running(bob, b3)
        const watched = bob((c) => c.watch(b3).pipe(Stream.runCollect))
        openGate(space, "b3")
        const watchedEvents = [...await watched]
        expect(watchedEvents.at(-1)?._tag).toBe("Finished")
        expect(watchedEvents.some((event) => event._tag === "BlockFinished")).toBe(true)
        expect((await bob((c) => c.await(b3))).state).toBe("Succeeded")
        expect((await alice((c) => c.get(a4, { wait: "30 seconds" }))).state).toBe("Succeeded")

        // Lists: each principal sees exactly its readable records, in order, page by page.
        for (
          const [who, key, expected] of [["alice", keys.alice, readableBy.alice], [
            "bob",
            keys.bob,
            readableBy.bob
          ]] as const
        ) {
          const seen: Array<Raw & { readonly createdAt: string }> = []
          const sizes: Array<number> = []
          let path: string | undefined = "/executions?sort=createdAt&limit=2"
          while (path !== undefined) {
            const page: Response = await call(server, key, path)
            expect(page.status).toBe(200)
            const body = await json<{ records: Array<Raw & { readonly createdAt: string }>; nextCursor?: string }>(page)
            sizes.push(body.records.length)
            seen.push(...body.records)
            const next = /<([^>]+)>; rel="next"/.exec(page.headers.get("link") ?? "")
            expect(next !== null).toBe(body.nextCursor !== undefined)
            path = next?.[1]
          }
          expect(new Set(seen.map((record) => record.id)), who).toEqual(new Set(expected))
          expect(seen.length, who).toBe(expected.length)
          // Pages are full (the access filter runs in SQL, before the LIMIT), but the last.
          expect(sizes.slice(0, -1).every((size) => size === 2), who).toBe(true)
          const order = seen.map((record) => [Date.parse(record.createdAt), record.id] as const)
          expect(order, who).toEqual(
            [...order].sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0))
          )
        }
        const bobsQuick = await bob((c) => c.list({ command: "quick", state: "Succeeded", sort: "-createdAt" }))
        expect(new Set(bobsQuick.records.map((record) => record.id))).toEqual(new Set([a2, a3, b1, b2, b4.id]))
        const alicesHolds = await alice((c) => c.list({ "command[in]": "hold,batch" }))
        expect(alicesHolds.records.map((record) => record.id)).toEqual([a4])

        // POST /executions/query: filters, sort and cursor, with the access filter in SQL.
        const query = { where: { owner: { op: "eq", value: "alice" } }, sort: "-createdAt", limit: 1 }
        const first = await bob((c) => c.query(query))
        expect(first.records.length).toBe(1)
        expect(first.nextCursor).toBeDefined()
        const second = await bob((c) => c.query({ ...query, cursor: first.nextCursor }))
        expect(second.records.length).toBe(1)
        expect(second.nextCursor).toBeUndefined()
        expect(new Set([...first.records, ...second.records].map((record) => record.id))).toEqual(new Set([a2, a3]))
        const pode = await call(server, keys.alice, "/executions/query", {
          method: "POST",
          body: JSON.stringify({ Name: { op: "eq", value: "quick" }, State: { op: "in", value: ["Succeeded"] } })
        })
        expect(new Set((await json<{ records: Array<Raw> }>(pode)).records.map((record) => record.id)))
          .toEqual(new Set([a1, a2, a3]))
        const admin = await clientOf(server, keys.admin)((c) => c.list({ limit: "1000" }))
        expect(admin.records.length).toBe(8)

        const exit = await server.kill("SIGINT")
        expect(exit.code).toBe(0)
        expect(integrityCheck(space.db)).toEqual(["ok"])
      })
    },
    30_000
  )

  it(
    "SIGKILL mid-flight: after a restart every execution is there and finished, the resumable one resumed",
    async () => {
      const space = workspace()
      const servers: Array<Server> = [await launch(space)]
      const store = storeOn(space.db)
      try {
        await withOutput(() => servers, async () => {
          const first = servers[0] as Server
          const alice = clientOf(first, keys.alice)
          const bob = clientOf(first, keys.bob)

          // Idempotent start: the same key and body give the same execution.
          const start = (server: Server, key: string, n: number) =>
            call(server, key, "/commands/quick/executions", {
              method: "POST",
              headers: { "idempotency-key": "nightly-42" },
              body: JSON.stringify({ input: { n } })
            })
          const keyed = await start(first, keys.alice, 7)
          expect(keyed.status).toBe(202)
          const k1 = (await json<Raw>(keyed)).id
          expect((await alice((c) => c.await(k1))).state).toBe("Succeeded")
          const again = await start(first, keys.alice, 7)
          expect(again.status).toBe(200)
          expect((await json<Raw>(again)).id).toBe(k1)

          const f1 = (await alice((c) => c.start("quick", { n: 5 }))).id
          expect((await alice((c) => c.await(f1))).state).toBe("Succeeded")
          const finishedBefore = await (await call(first, keys.alice, `/executions/${f1}`)).json()

          // Two running (the command's limit), one queued behind them, one resumable half-way.
          const [h1, h2, h3] = await twoRunningOneQueued(alice, bob)
          const r1 = (await alice((c) => c.start("batch", { tag: "r1", items: 6, ungated: 3, gate: "batch" }))).id
          // Items 0-2 finish at once; wait until the file says so (item states are written in batches).
          await eventually("the done items of the batch in the file", async () => {
            const statuses = await itemStatuses(store, r1)
            return ["item-0", "item-1", "item-2"].every((item) => statuses.get(item) === "Success")
          })
          const itemsBefore = await itemStatuses(store, r1)
          expect(itemsBefore.get("item-3")).not.toBe("Success")

          const killed = await first.kill("SIGKILL")
          expect(killed.signal).toBe("SIGKILL")

          const second = await launch(space)
          servers.push(second)
          expect(second.recovered).toEqual({ unfinished: 4, resumed: 1 })
          const alice2 = clientOf(second, keys.alice)
          const bob2 = clientOf(second, keys.bob)
          const admin2 = clientOf(second, keys.admin)

          // Every execution is there, through GET and through the lists of its readers.
          const lost = [h1, h2, h3, r1]
          for (const id of [k1, f1, h1, h2, r1]) {
            expect((await call(second, keys.alice, `/executions/${id}`)).status).toBe(200)
          }
          expect((await call(second, keys.bob, `/executions/${h3}`)).status).toBe(200)
          expect((await call(second, keys.bob, `/executions/${h1}`)).status).toBe(404)
          const alicesList = await alice2((c) => c.list({ limit: "1000" }))
          const resumed = alicesList.records.find((record) => record.resumedFrom === r1)
          expect(resumed).toBeDefined()
          const r2 = resumed!.id
          expect(new Set(alicesList.records.map((record) => record.id))).toEqual(new Set([k1, f1, h1, h2, r1, r2]))
          expect((await bob2((c) => c.list({ limit: "1000" }))).records.map((record) => record.id)).toEqual([h3])
          expect((await alice2((c) => c.list({ resumedFrom: r1 }))).records.map((record) => record.id)).toEqual([r2])

          // Nothing is left Queued or Running but the resumed execution.
          const unfinished = await admin2((c) => c.list({ "state[in]": "Queued,Running,Interrupting" }))
          expect(unfinished.records.map((record) => record.id)).toEqual([r2])
          for (const id of lost) {
            const record = await admin2((c) => c.get(id))
            expect(record.state, id).toBe("Interrupted")
            expect(record.interrupt?.source, id).toBe("process-lost")
            expect(record.outcome?._tag, id).toBe("ExecutionInterrupted")
          }
          // The finished ones kept their outcome (the whole record is unchanged).
          expect(await (await call(second, keys.alice, `/executions/${f1}`)).json()).toEqual(finishedBefore)

          // An old finished execution: nothing to interrupt, a long poll answers at once, and its
          // event stream is its `Finished` event (204 after it).
          for (const id of [f1, h1]) {
            const interrupt = await call(second, keys.alice, `/executions/${id}/interrupt`, {
              method: "POST",
              body: JSON.stringify({ mode: "force" })
            })
            expect(interrupt.status).toBe(410)
            expect((await json<{ _tag: string }>(interrupt))._tag).toBe("AlreadyFinished")
            const polled = await call(second, keys.alice, `/executions/${id}?wait=60s`, {
              signal: AbortSignal.timeout(20_000)
            })
            const record = await json<Raw>(polled)
            expect(record.state).toBe(id === f1 ? "Succeeded" : "Interrupted")
            const stream = await call(second, keys.alice, `/executions/${id}/events`, {
              signal: AbortSignal.timeout(20_000)
            })
            expect(stream.status).toBe(200)
            const events = parseSse(await stream.text())
            expect(events.map((event) => event.event)).toEqual(["Finished"])
            expect(Number(events[0]?.id)).toBe(record.progress.seq)
            expect(JSON.parse(events[0]?.data ?? "{}").outcome).toEqual(record.outcome)
            const after = await call(second, keys.alice, `/executions/${id}/events`, {
              headers: { "last-event-id": String(record.progress.seq) }
            })
            expect(after.status).toBe(204)
            for (const transport of ["sse", "eventstream"] as const) {
              const watched = await alice2((c) => c.watch(id, { transport }).pipe(Stream.runCollect))
              expect([...watched].map((event) => [event._tag, event.seq])).toEqual([["Finished", record.progress.seq]])
            }
            expect((await alice2((c) => c.await(id, { via: "events" }))).state).toBe(record.state)
          }

          // Idempotency-Key after the restart: the same execution; another body is a conflict;
          // another caller's key is another key.
          const replayed = await start(second, keys.alice, 7)
          expect(replayed.status).toBe(200)
          expect((await json<Raw>(replayed)).id).toBe(k1)
          expect((await start(second, keys.alice, 8)).status).toBe(409)
          const bobs = await start(second, keys.bob, 7)
          expect(bobs.status).toBe(202)
          expect((await json<Raw>(bobs)).id).not.toBe(k1)

          // The resumed batch skips the items done before the crash and runs the others once.
          openGate(space, "batch")
          const done = await alice2((c) => c.await(r2))
          expect(done.state).toBe("Succeeded")
          expect(done.progress.items.skipped).toBe(3)
          const statuses = await itemStatuses(store, r2)
          expect([0, 1, 2, 3, 4, 5].map((i) => statuses.get(`item-${i}`))).toEqual([
            "Skipped",
            "Skipped",
            "Skipped",
            "Success",
            "Success",
            "Success"
          ])
          const lines = lineCounts(space.log)
          expect([0, 1, 2, 3, 4, 5].map((i) => lines.get(`r1/item-${i}`))).toEqual([1, 1, 1, 1, 1, 1])

          const exit = await second.kill("SIGINT")
          expect(exit.code).toBe(0)
        })
      } finally {
        await store.dispose()
      }
      expect(integrityCheck(space.db)).toEqual(["ok"])
    },
    30_000
  )

  it("SIGINT with executions running: after a restart they are Interrupted by shutdown, not process-lost", async () => {
    const space = workspace()
    const servers: Array<Server> = [await launch(space)]
    await withOutput(() => servers, async () => {
      const first = servers[0] as Server
      const alice = clientOf(first, keys.alice)
      const f1 = (await alice((c) => c.start("quick", { n: 1 }))).id
      expect((await alice((c) => c.await(f1))).state).toBe("Succeeded")
      const [h1, h2, h3] = await twoRunningOneQueued(alice, alice)
      // Cancelled over HTTP before the shutdown: who, when and why survive the restart.
      const c1 = (await alice((c) => c.start("hold", { gate: "never" }))).id
      expect((await call(first, keys.alice, `/executions/${c1}?reason=rollback`, { method: "DELETE" })).status)
        .toBe(202)
      expect((await alice((c) => c.await(c1))).state).toBe("Interrupted")

      const exit = await first.kill("SIGINT")
      expect(exit.code).toBe(0)

      const second = await launch(space)
      servers.push(second)
      // The outcomes were recorded before the process exited: nothing for recovery to do.
      expect(second.recovered).toEqual({ unfinished: 0, resumed: 0 })
      const alice2 = clientOf(second, keys.alice)
      // The running ones stopped in their block; the queued one before its first.
      for (const [id, outcome] of [[h1, "BlockInterrupted"], [h2, "BlockInterrupted"], [h3, "ExecutionInterrupted"]]) {
        const record = await alice2((c) => c.get(id))
        expect(record.state, id).toBe("Interrupted")
        expect(record.interrupt?.source, id).toBe("shutdown")
        expect(record.outcome?._tag, id).toBe(outcome)
        expect(record.finishedAt, id).toBeInstanceOf(Date)
      }
      expect((await alice2((c) => c.get(f1))).state).toBe("Succeeded")
      const cancelled = await alice2((c) => c.get(c1))
      expect([
        cancelled.state,
        cancelled.interrupt?.source,
        cancelled.interrupt?.requestedBy,
        cancelled.interrupt?.reason
      ])
        .toEqual(["Interrupted", "http", "alice", "rollback"])
      const unfinished = await alice2((c) => c.list({ "state[in]": "Queued,Running,Interrupting" }))
      expect(unfinished.records).toEqual([])

      expect((await second.kill("SIGINT")).code).toBe(0)
    })
    expect(integrityCheck(space.db)).toEqual(["ok"])
  }, 30_000)
})
