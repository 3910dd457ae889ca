/**
 * The typed client against the real server: every call, typed errors, watching with
 * resumption after a dropped connection, bounded waits that say they are incomplete,
 * and many waits at once.
 */
import { FetchHttpClient } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as ClientModule from "@truce/http/client"
import { Effect, Either, Exit, Fiber, Stream } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Client } from "../src/index.js"
import { newGate, openGate } from "./support/commands.js"
import { startProxy } from "./support/proxy.js"
import type { TestServer } from "./support/server.js"
import { eventually, keys, startServer } from "./support/server.js"
import { contiguousToSuccess, watchThroughCut } from "./support/watch.js"

let server: TestServer

beforeAll(async () => {
  server = await startServer()
})

afterAll(async () => {
  await server.close()
})

const withClient = <A, E>(
  f: (client: Client.Client) => Effect.Effect<A, E>,
  config: Partial<Client.Config> = {}
): Effect.Effect<A, E> =>
  Effect.flatMap(Client.make({ baseUrl: server.url, apiKey: keys.alice, ...config }), f).pipe(
    Effect.provide(FetchHttpClient.layer)
  )

describe("Client", () => {
  it("is also exported as @truce/http/client", () => {
    expect(ClientModule.make).toBe(Client.make)
  })

  it.live("starts, reads and awaits an execution (long-poll)", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const started = yield* client.start("echo", { message: "hello" })
        expect(started.command).toBe("echo")
        const record = yield* client.await(started.id)
        expect(record.state).toBe("Succeeded")
        expect(record.outcome).toMatchObject({ _tag: "Complete", value: "hello" })
        const again = yield* client.get(started.id)
        expect(again.finishedAt).toBeInstanceOf(Date)
        const inline = yield* client.start("echo", { message: "now" }, { wait: "10 seconds" })
        expect(inline.state).toBe("Succeeded")
      })
    ))

  it.live("awaits through the event stream too", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const gate = newGate()
        const started = yield* client.start("gated", { gate, value: 3 })
        const waiting = yield* Effect.fork(client.await(started.id, { via: "events" }))
        openGate(gate)
        const record = yield* Fiber.join(waiting)
        expect(record.state).toBe("Succeeded")
        expect(record.outcome).toMatchObject({ value: { gate, value: 3 } })
      })
    ))

  it.live("a bounded wait that ends first fails with AwaitIncomplete, never a partial result", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const gate = newGate()
        const started = yield* client.start("gated", { gate })
        for (const via of ["long-poll", "events"] as const) {
          const result = yield* Effect.either(client.await(started.id, { timeout: "300 millis", via }))
          expect(Either.isLeft(result)).toBe(true)
          if (Either.isLeft(result)) {
            expect(result.left._tag).toBe("AwaitIncomplete")
            if (result.left._tag === "AwaitIncomplete") {
              expect(["Queued", "Running"]).toContain(result.left.state)
              expect(result.left.message).toMatch(/is still/)
            }
          }
        }
        openGate(gate)
        expect((yield* client.await(started.id)).state).toBe("Succeeded")
      })
    ))

  it.live("awaitAll waits for many executions concurrently, in the order of the ids", () =>
    Effect.gen(function*() {
      const proxy = yield* Effect.promise(() => startProxy(server.port))
      const longPolls = () => [...proxy.sent().matchAll(/GET \/executions\/[^/?]+\?wait=/g)].length
      const records = yield* Effect.flatMap(
        Client.make({ baseUrl: proxy.url, apiKey: keys.alice }),
        (client) =>
          Effect.gen(function*() {
            const gates = [newGate(), newGate(), newGate()]
            const started = yield* Effect.forEach(gates, (gate, value) => client.start("gated", { gate, value }))
            const all = yield* Effect.fork(client.awaitAll(started.map((record) => record.id)))
            // All three long polls are in flight before any execution finishes (one at a time would never get here).
            yield* Effect.promise(() => eventually(async () => longPolls() >= 3 ? true : undefined, "three long polls"))
            // Finish them in reverse order.
            for (const gate of [...gates].reverse()) openGate(gate)
            const records = yield* Fiber.join(all)
            expect(records.map((record) => record.id)).toEqual(started.map((record) => record.id))
            return records
          })
      ).pipe(Effect.provide(FetchHttpClient.layer), Effect.ensuring(Effect.promise(() => proxy.close())))
      expect(records.map((record) => (record.outcome as { value: { value: number } }).value.value)).toEqual([0, 1, 2])
      expect(longPolls()).toBe(3)
    }))

  it.live("await long-polls, never polling at a fixed interval: one request per wait", () =>
    Effect.gen(function*() {
      const proxy = yield* Effect.promise(() => startProxy(server.port))
      const requests = () => [...proxy.sent().matchAll(/GET \/executions\/[^ ]+ HTTP/g)].map((match) => match[0])
      const record = yield* Effect.flatMap(
        Client.make({ baseUrl: proxy.url, apiKey: keys.alice, longPollWait: "30 seconds" }),
        (client) =>
          Effect.gen(function*() {
            const gate = newGate()
            const started = yield* client.start("gated", { gate })
            const waiting = yield* Effect.fork(client.await(started.id))
            yield* Effect.promise(() => eventually(async () => requests().length > 0 ? true : undefined, "the wait"))
            // A fixed-interval poller would send more requests in this time; a long poll sends none.
            yield* Effect.sleep("1500 millis")
            expect(requests()).toHaveLength(1)
            openGate(gate)
            return yield* Fiber.join(waiting)
          })
      ).pipe(Effect.provide(FetchHttpClient.layer), Effect.ensuring(Effect.promise(() => proxy.close())))
      expect(record.state).toBe("Succeeded")
      expect(requests()).toEqual([expect.stringMatching(/\?wait=30000ms HTTP/)])
    }))

  it.live("starts idempotently with an Idempotency-Key", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const key = `client-${globalThis.crypto.randomUUID()}`
        const first = yield* client.start("echo", { message: "once" }, { idempotencyKey: key })
        const again = yield* client.start("echo", { message: "once" }, { idempotencyKey: key })
        expect(again.id).toBe(first.id)
        const conflict = yield* Effect.flip(client.start("echo", { message: "twice" }, { idempotencyKey: key }))
        expect(conflict._tag).toBe("IdempotencyConflict")
      })
    ))

  it.live("interrupts and cancels, with typed errors for 404, 409 and 410", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const running = yield* client.start("slow", { items: 200, delayMs: 20 })
        const accepted = yield* client.interrupt(running.id, { reason: "from the client" })
        expect(accepted).toMatchObject({ status: "accepted", escalated: false })
        expect(accepted.interrupt.source).toBe("http")
        const record = yield* client.await(running.id)
        expect(record.state).toBe("Interrupted")
        const gone = yield* Effect.flip(client.interrupt(running.id))
        expect(gone._tag).toBe("AlreadyFinished")

        const gate = newGate()
        const pinned = yield* client.start("pinned", { gate })
        expect((yield* Effect.flip(client.cancel(pinned.id)))._tag).toBe("NotCancellable")
        openGate(gate)

        const unknown = yield* Effect.flip(client.get("00000000-0000-4000-8000-000000000000"))
        expect(unknown._tag).toBe("ExecutionNotFound")
      })
    ))

  it.live("decodes 400, 401, 403 and 404 answers into typed errors", () =>
    Effect.gen(function*() {
      const invalid = yield* withClient((client) => Effect.flip(client.start("slow", { items: "x", delayMs: 1 })))
      expect(invalid._tag).toBe("InvalidRequest")
      if (invalid._tag === "InvalidRequest") expect(invalid.issues?.[0]?.path).toEqual(["input", "items"])
      const query = yield* withClient((client) =>
        Effect.flip(client.query({ where: { state: { op: "near", value: 1 } } }))
      )
      expect(query._tag).toBe("InvalidQuery")
      const command = yield* withClient((client) => Effect.flip(client.start("nope", {})))
      expect(command._tag).toBe("CommandNotFound")
      const repeated = yield* withClient((client) => Effect.flip(client.list(new URLSearchParams("sort=a&sort=b"))))
      expect(repeated._tag).toBe("InvalidRequest")
      const forbidden = yield* withClient((client) => Effect.flip(client.start("restricted", { message: "x" })))
      expect(forbidden._tag).toBe("Forbidden")
      const anonymous = yield* withClient((client) => Effect.flip(client.list()), { apiKey: undefined })
      expect(anonymous._tag).toBe("Unauthenticated")
      const down = yield* Effect.flip(
        Client.make({ baseUrl: "http://127.0.0.1:9", apiKey: keys.alice }).pipe(
          Effect.flatMap((client) => client.list()),
          Effect.provide(FetchHttpClient.layer)
        )
      )
      expect(down._tag).toBe("TransportError")
    }))

  it.live("lists, pages and queries; lists commands", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const batch = `b-${globalThis.crypto.randomUUID()}`
        const started = yield* Effect.forEach(
          [1, 2, 3],
          (i) => client.start("echo", { message: `m${i}` }, { labels: { batch } })
        )
        yield* client.awaitAll(started.map((record) => record.id))
        const first = yield* client.list({ "labels.batch": batch, sort: "createdAt", limit: "2" })
        expect(first.records).toHaveLength(2)
        const second = yield* client.list({
          "labels.batch": batch,
          sort: "createdAt",
          limit: "2",
          cursor: first.nextCursor ?? ""
        })
        expect([...first.records, ...second.records].map((record) => record.id)).toEqual(
          started.map((record) => record.id)
        )
        const queried = yield* client.query({ where: { "labels.batch": { op: "eq", value: batch } }, limit: 10 })
        expect(queried.records).toHaveLength(3)
        const commands = yield* client.commands
        expect(commands.map((command) => command.name)).toContain("slow")
      })
    ))

  it.live("watch streams events to Finished and resumes after a dropped connection", () =>
    Effect.gen(function*() {
      const { events, sent } = yield* watchThroughCut(server.port, "sse")
      // It reconnected, asking for the events after the last one it had.
      const resumedAfter = /last-event-id: (\d+)/i.exec(sent)
      expect(resumedAfter).not.toBeNull()
      expect(Number(resumedAfter?.[1])).toBeGreaterThanOrEqual(6)
      expect(events.map((event) => event.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1))
      expect(contiguousToSuccess(events)).toBe(true)
    }))

  it.live("watch gives up after its bounded retries when the server stays away", () =>
    Effect.gen(function*() {
      const proxy = yield* Effect.promise(() => startProxy(server.port))
      const exit = yield* Effect.flatMap(
        Client.make({ baseUrl: proxy.url, apiKey: keys.alice, retries: 2, retryDelay: "10 millis" }),
        (client) =>
          Effect.gen(function*() {
            const gate = newGate()
            const started = yield* client.start("gated", { gate })
            yield* Effect.addFinalizer(() => Effect.sync(() => openGate(gate)))
            return yield* client.watch(started.id).pipe(
              Stream.tap((event) => event.seq === 1 ? Effect.promise(() => proxy.close()) : Effect.void),
              Stream.runDrain,
              Effect.exit
            )
          })
      ).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toMatch(/TransportError/)
    }))

  it.live("refuses malformed event streams with MalformedEvent", () =>
    Effect.gen(function*() {
      const fake = http.createServer((_request, response) => {
        response.writeHead(200, { "content-type": "text/event-stream" })
        response.end("id: 1\nevent: StateChanged\ndata: {\"_tag\":\"Nonsense\"}\n\n")
      })
      yield* Effect.promise(() => new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve)))
      const { port } = fake.address() as AddressInfo
      const error = yield* Effect.flatMap(
        Client.make({ baseUrl: `http://127.0.0.1:${port}`, retries: 0 }),
        (client) => Effect.flip(Stream.runDrain(client.watch("x")))
      ).pipe(
        Effect.provide(FetchHttpClient.layer),
        Effect.ensuring(Effect.promise(() => new Promise<void>((resolve) => fake.close(() => resolve()))))
      )
      expect(error._tag).toBe("MalformedEvent")
    }))
})
