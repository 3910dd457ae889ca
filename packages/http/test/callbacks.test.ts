/**
 * Callbacks received by a real local HTTP receiver: a valid signature, retries after
 * failures, attempts recorded on the record, and refused addresses (at start and, for
 * DNS rebinding, at delivery).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { createHmac } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Callback, TruceHttp } from "../src/index.js"
import { broken, newGate, openGate } from "./support/commands.js"
import type { TestServer } from "./support/server.js"
import { as, callbackSecret, eventually, keys, postJson, start, startServer } from "./support/server.js"

interface Delivery {
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
  readonly receivedAt: number
}

/** A local receiver answering with the statuses given (the last one repeats). */
const startReceiver = async (statuses: ReadonlyArray<number>) => {
  const deliveries: Array<Delivery> = []
  const server = http.createServer((request, response) => {
    let body = ""
    request.setEncoding("utf8")
    request.on("data", (chunk: string) => (body += chunk))
    request.on("end", () => {
      deliveries.push({ headers: request.headers, body, receivedAt: Date.now() })
      const status = statuses[Math.min(deliveries.length - 1, statuses.length - 1)] ?? 200
      response.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks/truce`,
    deliveries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** The delivery carries a valid signature of the test secret. */
const signed = (delivery: Delivery) =>
  Callback.verify({
    secret: callbackSecret,
    body: delivery.body,
    signature: delivery.headers["x-truce-signature"] as string,
    timestamp: delivery.headers["x-truce-timestamp"] as string
  })

let server: TestServer

beforeAll(async () => {
  server = await startServer({
    callbacks: {
      secret: callbackSecret,
      allowAddresses: ["loopback"],
      attempts: 4,
      initialDelay: "10 millis",
      maxDelay: "40 millis",
      requestTimeout: "2 seconds"
    }
  })
})

afterAll(async () => {
  await server.close()
})

type CallbackState = { readonly state: string; readonly attempts: number; readonly lastError?: string }

const callbackSettled = (target: TestServer, id: string) =>
  eventually(async () => {
    const record = await (await as(keys.alice)(`${target.url}/executions/${id}`)).json() as { callback?: CallbackState }
    return record.callback !== undefined &&
        (record.callback.state === "Delivered" || record.callback.state === "Failed")
      ? record.callback
      : undefined
  }, `the callback of ${id} to settle`)

describe("callbacks", () => {
  it("POSTs the finished record, signed, to the callback URL", async () => {
    const receiver = await startReceiver([204])
    try {
      const started = await start(server, keys.alice, "echo", { message: "call me" }, { callbackUrl: receiver.url })
      expect(started.callback).toMatchObject({ url: receiver.url, state: "Pending", attempts: 0 })
      const callback = await callbackSettled(server, started.id)
      expect(callback).toMatchObject({ state: "Delivered", attempts: 1 })
      expect(receiver.deliveries).toHaveLength(1)
      const delivery = receiver.deliveries[0] as Delivery
      const signature = delivery.headers["x-truce-signature"] as string
      const timestamp = delivery.headers["x-truce-timestamp"] as string
      // The documented scheme, recomputed by hand: HMAC-SHA256(secret, "<timestamp>.<body>").
      const expected = createHmac("sha256", callbackSecret).update(`${timestamp}.${delivery.body}`).digest("hex")
      expect(signature).toBe(`sha256=${expected}`)
      expect(Callback.verify({ secret: callbackSecret, body: delivery.body, signature, timestamp })).toBe(true)
      expect(Callback.verify({ secret: "wrong", body: delivery.body, signature, timestamp })).toBe(false)
      expect(Callback.verify({ secret: callbackSecret, body: `${delivery.body} `, signature, timestamp })).toBe(false)
      expect(delivery.headers["x-truce-execution"]).toBe(started.id)
      expect(delivery.headers["x-truce-attempt"]).toBe("1")
      expect(delivery.headers["content-type"]).toBe("application/json")
      const body = JSON.parse(delivery.body) as { id: string; state: string; outcome: unknown }
      expect(body).toMatchObject({
        id: started.id,
        state: "Succeeded",
        outcome: { _tag: "Complete", value: "call me" }
      })
    } finally {
      await receiver.close()
    }
  })

  it("retries after a failure (500 first), with one delivery id and the attempts recorded", async () => {
    const receiver = await startReceiver([500, 200])
    try {
      const started = await start(server, keys.alice, "echo", { message: "again" }, { callbackUrl: receiver.url })
      const callback = await callbackSettled(server, started.id)
      expect(callback).toMatchObject({ state: "Delivered", attempts: 2, lastError: "the receiver answered 500" })
      expect(receiver.deliveries).toHaveLength(2)
      const [first, second] = receiver.deliveries as [Delivery, Delivery]
      expect(first.headers["x-truce-delivery"]).toBe(second.headers["x-truce-delivery"])
      expect([first.headers["x-truce-attempt"], second.headers["x-truce-attempt"]]).toEqual(["1", "2"])
      for (const delivery of receiver.deliveries) {
        expect(signed(delivery)).toBe(true)
      }
    } finally {
      await receiver.close()
    }
  })

  it("gives up after the configured attempts and records the last error", async () => {
    const receiver = await startReceiver([503])
    try {
      const started = await start(server, keys.alice, "echo", { message: "never" }, { callbackUrl: receiver.url })
      const callback = await callbackSettled(server, started.id)
      expect(callback).toMatchObject({ state: "Failed", attempts: 4, lastError: "the receiver answered 503" })
      expect(receiver.deliveries).toHaveLength(4)
    } finally {
      await receiver.close()
    }
  })

  it("backs off exponentially between attempts, recording each attempt on the record", async () => {
    const receiver = await startReceiver([503, 503, 503, 200])
    const backoff = await startServer({
      callbacks: {
        secret: callbackSecret,
        allowAddresses: ["loopback"],
        attempts: 5,
        initialDelay: "60 millis",
        factor: 2,
        maxDelay: "10 seconds"
      }
    })
    try {
      const started = await start(backoff, keys.alice, "echo", { message: "later" }, { callbackUrl: receiver.url })
      // While it retries, the record says so: Delivering, the attempts so far, the last error.
      const retrying = await eventually(async () => {
        const record = await (await as(keys.alice)(`${backoff.url}/executions/${started.id}`)).json() as {
          callback?: CallbackState
        }
        return record.callback?.state === "Delivering" && record.callback.attempts >= 2 ? record.callback : undefined
      }, "a retry in progress")
      expect(retrying.lastError).toBe("the receiver answered 503")
      const callback = await callbackSettled(backoff, started.id)
      expect(callback).toMatchObject({ state: "Delivered", attempts: 4, lastError: "the receiver answered 503" })
      expect(receiver.deliveries).toHaveLength(4)
      // Delays of 60 ms, 120 ms, 240 ms (each ±20% jitter): every gap at least 80% of its delay.
      const at = receiver.deliveries.map((delivery) => delivery.receivedAt)
      const gaps = at.slice(1).map((time, i) => time - (at[i] as number))
      gaps.forEach((gap, i) =>
        expect([i, gap]).toEqual([i, expect.toSatisfy((ms: number) => ms >= 0.8 * 60 * 2 ** i - 5)])
      )
    } finally {
      await backoff.close()
      await receiver.close()
    }
  })

  it("does not retry an answer that will not change (404)", async () => {
    const receiver = await startReceiver([404])
    try {
      const started = await start(server, keys.alice, "echo", { message: "gone" }, { callbackUrl: receiver.url })
      expect(await callbackSettled(server, started.id)).toMatchObject({ state: "Failed", attempts: 1 })
    } finally {
      await receiver.close()
    }
  })

  it("calls back on every terminal state: an interrupted execution too", async () => {
    const receiver = await startReceiver([200])
    try {
      const gate = newGate()
      const started = await start(server, keys.alice, "gated", { gate }, { callbackUrl: receiver.url })
      const response = await as(keys.alice)(`${server.url}/executions/${started.id}?mode=force`, { method: "DELETE" })
      expect(response.status).toBe(202)
      expect(await callbackSettled(server, started.id)).toMatchObject({ state: "Delivered" })
      expect(JSON.parse(receiver.deliveries[0]?.body ?? "{}")).toMatchObject({ state: "Interrupted" })
      openGate(gate)
    } finally {
      await receiver.close()
    }
  })

  it("calls back for failed executions too, to a URL configured per command, without the outcome if so configured", async () => {
    const receiver = await startReceiver([200])
    const perCommand = await startServer({
      commands: [TruceHttp.command(broken, { callbackUrl: receiver.url })],
      callbacks: { secret: callbackSecret, allowAddresses: ["loopback"], includeOutcome: false }
    })
    try {
      const started = await start(perCommand, keys.alice, "broken", { reason: "disk full" })
      expect(started.callback).toMatchObject({ url: receiver.url, state: "Pending" })
      expect(await callbackSettled(perCommand, started.id)).toMatchObject({ state: "Delivered", attempts: 1 })
      const delivery = receiver.deliveries[0] as Delivery
      const body = JSON.parse(delivery.body) as Record<string, unknown>
      expect(body).toMatchObject({
        id: started.id,
        state: "Failed",
        error: { message: expect.stringMatching(/disk full/) }
      })
      expect(body).not.toHaveProperty("outcome")
      expect(signed(delivery)).toBe(true)
    } finally {
      await perCommand.close()
      await receiver.close()
    }
  })

  it("refuses host names that resolve to a private or loopback address (any of them), at start", async () => {
    const answers: Record<string, ReadonlyArray<{ address: string; family: 4 | 6 }>> = {
      "internal.example.test": [{ address: "10.1.2.3", family: 4 }],
      "mixed.example.test": [{ address: "93.184.216.34", family: 4 }, { address: "fd00::7", family: 6 }],
      "metadata.example.test": [{ address: "169.254.169.254", family: 4 }],
      "mapped.example.test": [{ address: "::ffff:192.168.0.1", family: 6 }],
      "nowhere.example.test": []
    }
    const resolving = await startServer({
      callbacks: { secret: callbackSecret, lookup: async (hostname) => answers[hostname] ?? [] }
    })
    try {
      const expectations: Array<[string, RegExp]> = [
        ["internal.example.test", /10\.1\.2\.3, a private address/],
        ["mixed.example.test", /fd00::7, a unique-local address/],
        ["metadata.example.test", /169\.254\.169\.254, a link-local address/],
        ["mapped.example.test", /::ffff:192\.168\.0\.1, a private address/],
        ["nowhere.example.test", /does not resolve/]
      ]
      for (const [host, message] of expectations) {
        const callbackUrl = `https://${host}/hook`
        const response = await postJson(keys.alice, `${resolving.url}/commands/echo/executions`, {
          input: { message: "x" },
          callbackUrl
        })
        expect([host, response.status]).toEqual([host, 400])
        const body = await response.json() as { _tag: string; url: string; message: string }
        expect([host, body]).toEqual([host, expect.objectContaining({ _tag: "CallbackUrlRejected", url: callbackUrl })])
        expect([host, body.message]).toEqual([host, expect.stringMatching(message)])
      }
      // A name resolving only to public addresses is accepted.
      answers["public.example.test"] = [{ address: "93.184.216.34", family: 4 }]
      const accepted = await postJson(keys.alice, `${resolving.url}/commands/echo/executions`, {
        input: { message: "x" },
        callbackUrl: "https://public.example.test/hook"
      })
      expect(accepted.status).toBe(202)
    } finally {
      await resolving.close()
    }
  })

  it("refuses callback URLs to addresses the server does not allow (400 at start)", async () => {
    const strict = await startServer({ callbacks: { secret: callbackSecret } })
    try {
      const refused = [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://[::ffff:127.0.0.1]:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/hook",
        "http://192.168.1.10/hook",
        "http://[fd00::1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0:9/hook",
        "ftp://example.com/hook",
        "not a url"
      ]
      for (const callbackUrl of refused) {
        const response = await postJson(keys.alice, `${strict.url}/commands/echo/executions`, {
          input: { message: "x" },
          callbackUrl
        })
        expect(response.status).toBe(400)
        const body = await response.json() as { _tag: string; url: string; message: string }
        expect(body).toMatchObject({ _tag: "CallbackUrlRejected", url: callbackUrl })
      }
    } finally {
      await strict.close()
    }
  })

  it("re-checks the address at delivery time (DNS rebinding) and connects to nothing refused", async () => {
    const receiver = await startReceiver([200])
    const port = new URL(receiver.url).port
    let lookups = 0
    const rebinding = await startServer({
      callbacks: {
        secret: callbackSecret,
        attempts: 3,
        initialDelay: "5 millis",
        lookup: async () => {
          lookups++
          // A public address when the start is checked, loopback when the callback is sent.
          return lookups === 1 ? [{ address: "93.184.216.34", family: 4 }] : [{ address: "127.0.0.1", family: 4 }]
        }
      }
    })
    try {
      const started = await start(rebinding, keys.alice, "echo", { message: "x" }, {
        callbackUrl: `http://hooks.example.test:${port}/hook`
      })
      const callback = await callbackSettled(rebinding, started.id)
      expect(callback.state).toBe("Failed")
      expect(callback.attempts).toBe(1)
      expect(callback.lastError).toMatch(/127\.0\.0\.1, a loopback address/)
      expect(receiver.deliveries).toHaveLength(0)
    } finally {
      await rebinding.close()
      await receiver.close()
    }
  })
})

describe("Callback.classifyAddress", () => {
  it("classifies IPv4, IPv6 and IPv4-mapped addresses", () => {
    const cases: Array<[string, Callback.AddressKind | undefined]> = [
      ["8.8.8.8", "public"],
      ["127.0.0.1", "loopback"],
      ["127.255.255.254", "loopback"],
      ["10.1.2.3", "private"],
      ["172.16.0.1", "private"],
      ["172.31.255.255", "private"],
      ["172.32.0.1", "public"],
      ["192.168.0.1", "private"],
      ["100.64.0.1", "private"],
      ["169.254.169.254", "link-local"],
      ["0.0.0.0", "unspecified"],
      ["224.0.0.1", "multicast"],
      ["192.0.2.1", "reserved"],
      ["255.255.255.255", "reserved"],
      ["::1", "loopback"],
      ["::", "unspecified"],
      ["::ffff:127.0.0.1", "loopback"],
      ["::ffff:7f00:1", "loopback"],
      ["::ffff:10.0.0.1", "private"],
      ["::ffff:8.8.8.8", "public"],
      ["::127.0.0.1", "loopback"],
      ["64:ff9b::a00:1", "private"],
      ["2002:c0a8:0101::1", "private"],
      ["fe80::1", "link-local"],
      ["fe80::1%eth0", "link-local"],
      ["fc00::1", "unique-local"],
      ["fd12:3456:789a::1", "unique-local"],
      ["ff02::1", "multicast"],
      ["2001:db8::1", "reserved"],
      ["2606:4700:4700::1111", "public"],
      ["[::1]", "loopback"],
      ["example.com", undefined],
      ["1.2.3", undefined],
      ["::ffff:1.2.3.4.5", undefined]
    ]
    for (const [address, kind] of cases) expect([address, Callback.classifyAddress(address)]).toEqual([address, kind])
  })

  it("signs and verifies, refusing stale timestamps and malformed signatures", () => {
    const now = Date.now()
    const timestamp = String(Math.floor(now / 1000))
    const signature = Callback.sign("s", timestamp, "{}")
    expect(Callback.verify({ secret: "s", body: "{}", signature, timestamp, now })).toBe(true)
    expect(Callback.verify({ secret: "s", body: "{}", signature, timestamp, now: now + 3_600_000 })).toBe(false)
    expect(Callback.verify({ secret: "s", body: "{}", signature: "sha256=abc", timestamp, now })).toBe(false)
    expect(Callback.verify({ secret: "s", body: "{}", signature: undefined, timestamp, now })).toBe(false)
    expect(Callback.verify({ secret: "s", body: "{}", signature, timestamp: "soon", now })).toBe(false)
  })
})
