/**
 * Content negotiation for records and lists: JSON (default), YAML and XML, chosen by the
 * `Accept` header with q-values; anything else (or nothing) gets JSON.
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { XMLBuilder } from "fast-xml-parser"
import * as YAML from "yaml"

/** @internal */
export type Format = "json" | "yaml" | "xml"

/** @internal */
export interface Representation {
  readonly format: Format
  readonly contentType: string
}

const json: Representation = { format: "json", contentType: "application/json" }

const known: Record<string, Representation> = {
  "application/json": json,
  "application/yaml": { format: "yaml", contentType: "application/yaml" },
  "application/x-yaml": { format: "yaml", contentType: "application/yaml" },
  "text/yaml": { format: "yaml", contentType: "text/yaml" },
  "text/x-yaml": { format: "yaml", contentType: "text/yaml" },
  "application/xml": { format: "xml", contentType: "application/xml" },
  "text/xml": { format: "xml", contentType: "text/xml" }
}

/** The media types a client may ask for. */
export const mediaTypes = ["application/json", "application/yaml", "text/yaml", "application/xml", "text/xml"] as const

/** One media range of an `Accept` header: its type (lower case) and q-value (0 when malformed). */
const mediaRange = (raw: string): { readonly type: string; readonly q: number } => {
  const [typePart, ...params] = raw.split(";")
  let q = 1
  for (const param of params) {
    const [name, value] = param.split("=")
    if (name?.trim().toLowerCase() === "q") {
      const parsed = Number(value?.trim())
      q = Number.isFinite(parsed) ? Math.min(1, Math.max(0, parsed)) : 0
    }
  }
  return { type: (typePart ?? "").trim().toLowerCase(), q }
}

/**
 * Picks the representation for an `Accept` header: the acceptable type with the highest
 * q-value (more specific first on ties, the header's order after that); `*` wildcards
 * and unknown types fall back to JSON.
 */
export const negotiate = (accept: string | undefined): Representation => {
  if (accept === undefined || accept === "" || accept === "*/*" || accept === "application/json") return json
  let best: Representation | undefined
  let bestQ = 0
  let bestSpecificity = -1
  for (const raw of accept.split(",")) {
    const { q, type } = mediaRange(raw)
    if (q <= 0) continue
    const candidate = known[type] ?? (type === "*/*" || type === "application/*" ? json : undefined)
    if (candidate === undefined) continue
    const specificity = type.includes("*") ? 0 : 1
    if (q > bestQ || (q === bestQ && specificity > bestSpecificity)) {
      best = candidate
      bestQ = q
      bestSpecificity = specificity
    }
  }
  return best ?? json
}

/**
 * The q-value an `Accept` header gives a media type (RFC 9110: the most specific matching
 * range decides — `type/subtype`, then `type/*`, then `*\/*`); 0 when nothing matches.
 */
export const qualityOf = (accept: string, mediaType: string): number => {
  const [mainType] = mediaType.split("/")
  let best = 0
  let bestSpecificity = -1
  for (const raw of accept.split(",")) {
    const { q, type } = mediaRange(raw)
    const specificity = type === mediaType ? 2 : type === `${mainType}/*` ? 1 : type === "*/*" ? 0 : -1
    if (specificity < 0 || specificity < bestSpecificity) continue
    if (specificity > bestSpecificity || q > best) {
      best = q
      bestSpecificity = specificity
    }
  }
  return best
}

const xmlName = /^(?!xml)[A-Za-z_][A-Za-z0-9._-]*$/i

type XmlNode = string | number | boolean | { readonly [key: string]: unknown }

/**
 * Converts JSON-like data into the tree `XMLBuilder` renders: an object's keys become
 * elements (keys that are not XML names become `<entry key="...">`), arrays become
 * repeated `<item>` elements, `null` an empty element with `nil="true"`.
 */
export const toXmlTree = (value: unknown): XmlNode => {
  if (value === null || value === undefined) return { "@_nil": "true" }
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return { item: value.map(toXmlTree) }
  if (typeof value === "object") {
    const out: Record<string, unknown> = {}
    const entries: Array<unknown> = []
    for (const [key, child] of Object.entries(value)) {
      if (child === undefined) continue
      if (xmlName.test(key) && key !== "entry") {
        out[key] = toXmlTree(child)
      } else {
        const node = toXmlTree(child)
        entries.push(typeof node === "object" ? { "@_key": key, ...node } : { "@_key": key, "#text": node })
      }
    }
    if (entries.length > 0) out.entry = entries
    return out
  }
  return String(value)
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  textNodeName: "#text",
  format: false,
  suppressEmptyNode: true,
  processEntities: true,
  suppressBooleanAttributes: false
})

/** Renders a value as an XML document with the given root element. */
export const toXml = (root: string, value: unknown): string =>
  `<?xml version="1.0" encoding="UTF-8"?>${builder.build({ [root]: toXmlTree(value) }) as string}`

/** Renders a value in a representation. */
export const renderBody = (representation: Representation, root: string, value: unknown): string => {
  switch (representation.format) {
    case "json":
      return JSON.stringify(value)
    case "yaml":
      return YAML.stringify(value)
    case "xml":
      return toXml(root, value)
  }
}

/** The `Content-Type` of a representation. */
export const contentTypeOf = (representation: Representation): string =>
  representation.format === "json" ? representation.contentType : `${representation.contentType}; charset=utf-8`

/** A negotiated response. */
export const respond = (
  representation: Representation,
  root: string,
  value: unknown,
  options?: { readonly status?: number | undefined; readonly headers?: Readonly<Record<string, string>> | undefined }
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(renderBody(representation, root, value), {
    status: options?.status ?? 200,
    contentType: contentTypeOf(representation),
    headers: { vary: "Accept", ...options?.headers }
  })
