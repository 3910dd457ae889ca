/**
 * A TCP proxy in front of the test server whose connections the test can cut, to
 * drop event streams the way a network failure would.
 */
import * as net from "node:net"

export interface Proxy {
  readonly url: string
  /** Destroys every open connection (clients see the stream break). */
  readonly cut: () => void
  /** Stops accepting connections and cuts the open ones. */
  readonly close: () => Promise<void>
  /** How many connections were accepted so far. */
  readonly connections: () => number
  /** Everything clients sent so far (request lines and headers included). */
  readonly sent: () => string
}

export const startProxy = async (targetPort: number): Promise<Proxy> => {
  const sockets = new Set<net.Socket>()
  let accepted = 0
  let sent = ""
  const server = net.createServer((client) => {
    accepted++
    const upstream = net.connect(targetPort, "127.0.0.1")
    sockets.add(client)
    sockets.add(upstream)
    client.on("data", (chunk: Buffer) => {
      if (sent.length < 1_000_000) sent += chunk.toString("latin1")
    })
    client.pipe(upstream)
    upstream.pipe(client)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on("error", drop)
    upstream.on("error", drop)
    client.on("close", drop)
    upstream.on("close", drop)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address() as net.AddressInfo
  const cut = () => {
    for (const socket of sockets) socket.destroy()
    sockets.clear()
  }
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        cut()
      }),
    connections: () => accepted,
    sent: () => sent
  }
}
