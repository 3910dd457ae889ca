/**
 * Classification of IP addresses by range, for refusing callback URLs that point into
 * the server's own networks (SSRF). Covers IPv4, IPv6, IPv4-mapped (`::ffff:a.b.c.d`),
 * IPv4-compatible, NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`) forms.
 *
 * @internal
 */
import { isIP } from "node:net"

/** @internal */
export type AddressKind =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "unique-local"
  | "unspecified"
  | "multicast"
  | "reserved"

const parseIPv4 = (address: string): number | undefined => {
  const parts = address.split(".")
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    value = value * 256 + n
  }
  return value
}

const inV4 = (value: number, base: string, bits: number): boolean => {
  const start = parseIPv4(base) as number
  const size = 2 ** (32 - bits)
  return value >= start && value < start + size
}

const classifyV4 = (value: number): AddressKind => {
  if (inV4(value, "0.0.0.0", 8)) return "unspecified"
  if (inV4(value, "127.0.0.0", 8)) return "loopback"
  if (inV4(value, "10.0.0.0", 8) || inV4(value, "172.16.0.0", 12) || inV4(value, "192.168.0.0", 16)) return "private"
  if (inV4(value, "100.64.0.0", 10)) return "private" // carrier-grade NAT (shared address space)
  if (inV4(value, "169.254.0.0", 16)) return "link-local"
  if (inV4(value, "224.0.0.0", 4)) return "multicast"
  if (
    inV4(value, "192.0.0.0", 24) || inV4(value, "192.0.2.0", 24) || inV4(value, "198.51.100.0", 24) ||
    inV4(value, "203.0.113.0", 24) || inV4(value, "198.18.0.0", 15) || inV4(value, "240.0.0.0", 4)
  ) return "reserved"
  return "public"
}

/** Expands an IPv6 address into eight 16-bit groups (an embedded IPv4 tail included). */
const parseIPv6 = (input: string): ReadonlyArray<number> | undefined => {
  let address = input
  const zone = address.indexOf("%")
  if (zone >= 0) address = address.slice(0, zone)
  const lastColon = address.lastIndexOf(":")
  const last = address.slice(lastColon + 1)
  if (last.includes(".")) {
    const v4 = parseIPv4(last)
    if (v4 === undefined) return undefined
    address = `${address.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`
  }
  const halves = address.split("::")
  if (halves.length > 2) return undefined
  const parse = (part: string): Array<number> | undefined => {
    if (part === "") return []
    const groups: Array<number> = []
    for (const group of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined
      groups.push(parseInt(group, 16))
    }
    return groups
  }
  const head = parse(halves[0] as string)
  if (head === undefined) return undefined
  if (halves.length === 1) {
    return head.length === 8 ? head : undefined
  }
  const rest = parse(halves[1] as string)
  if (rest === undefined) return undefined
  const missing = 8 - head.length - rest.length
  if (missing < 1) return undefined
  return [...head, ...new Array<number>(missing).fill(0), ...rest]
}

const embeddedV4 = (groups: ReadonlyArray<number>, at: number): number =>
  (groups[at] as number) * 65536 + (groups[at + 1] as number)

const classifyV6 = (g: ReadonlyArray<number>): AddressKind => {
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0)
  if (zeros(0, 8)) return "unspecified"
  if (zeros(0, 7) && g[7] === 1) return "loopback"
  // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible, deprecated)
  if (zeros(0, 5) && g[5] === 0xffff) return classifyV4(embeddedV4(g, 6))
  if (zeros(0, 6)) {
    const kind = classifyV4(embeddedV4(g, 6))
    return kind === "public" ? "reserved" : kind
  }
  // 64:ff9b::/96 (NAT64, well-known prefix) embeds an IPv4 address
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return classifyV4(embeddedV4(g, 6))
  // 64:ff9b:1::/48 (local-use NAT64)
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return "private"
  // 2002::/16 (6to4) embeds an IPv4 address in bits 16..47
  if (g[0] === 0x2002) return classifyV4(embeddedV4(g, 1))
  const first = g[0] as number
  if ((first & 0xffc0) === 0xfe80) return "link-local"
  if ((first & 0xffc0) === 0xfec0) return "private" // site-local (deprecated)
  if ((first & 0xfe00) === 0xfc00) return "unique-local"
  if ((first & 0xff00) === 0xff00) return "multicast"
  if (first === 0x2001 && g[1] === 0x0db8) return "reserved" // documentation
  if (first === 0x2001 && g[1] === 0) return "reserved" // Teredo (embeds an obfuscated IPv4)
  if (first === 0x0100 && zeros(1, 4)) return "reserved" // discard-only
  return "public"
}

/**
 * The kind of an IP address, or undefined when the text is not an IP address.
 *
 * @internal
 */
export const classifyAddress = (address: string): AddressKind | undefined => {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address
  const version = isIP(bare)
  if (version === 4) return classifyV4(parseIPv4(bare) as number)
  if (version === 6) {
    const groups = parseIPv6(bare)
    return groups === undefined ? undefined : classifyV6(groups)
  }
  return undefined
}
