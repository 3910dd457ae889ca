/**
 * Who is asking, and what they may do with an execution.
 *
 * Every execution has an owner and read/write grants by users, groups, roles and scopes.
 * The owner may always read and write; write implies read.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * An authenticated caller.
 *
 * @example
 * import { Access } from "@truce/core"
 * const alice = Access.principal({ id: "alice", groups: ["ops"] })
 *
 * @since 0.1.0
 * @category models
 */
export const Principal = Schema.Struct({
  id: Schema.String,
  groups: Schema.Array(Schema.String),
  roles: Schema.Array(Schema.String),
  scopes: Schema.Array(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Principal = typeof Principal.Type

/**
 * Builds a principal, defaulting the lists to empty.
 *
 * @since 0.1.0
 * @category constructors
 */
export const principal = (input: {
  readonly id: string
  readonly groups?: ReadonlyArray<string> | undefined
  readonly roles?: ReadonlyArray<string> | undefined
  readonly scopes?: ReadonlyArray<string> | undefined
}): Principal => ({
  id: input.id,
  groups: input.groups ?? [],
  roles: input.roles ?? [],
  scopes: input.scopes ?? []
})

/**
 * Who is granted an access right. `users` may contain `"*"` to grant everyone
 * (including anonymous callers).
 *
 * @since 0.1.0
 * @category models
 */
export const Grant = Schema.Struct({
  users: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  groups: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  roles: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  scopes: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
})

/**
 * @since 0.1.0
 * @category models
 */
export type Grant = typeof Grant.Type

/**
 * Read and write grants of one execution (or of a command, as the default for its
 * executions).
 *
 * @example
 * import { Access } from "@truce/core"
 * const permissions = Access.permissions({ read: { groups: ["ops"] }, write: { roles: ["admin"] } })
 *
 * @since 0.1.0
 * @category models
 */
export const Permissions = Schema.Struct({
  read: Grant,
  write: Grant
})

/**
 * @since 0.1.0
 * @category models
 */
export type Permissions = typeof Permissions.Type

const emptyGrant: Grant = { users: [], groups: [], roles: [], scopes: [] }

const grant = (input: Partial<Grant> | undefined): Grant => ({
  users: input?.users ?? [],
  groups: input?.groups ?? [],
  roles: input?.roles ?? [],
  scopes: input?.scopes ?? []
})

/**
 * No grants: only the owner has access.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ownerOnly: Permissions = { read: emptyGrant, write: emptyGrant }

/**
 * @since 0.1.0
 * @category constructors
 */
export const permissions = (input: {
  readonly read?: Partial<Grant> | undefined
  readonly write?: Partial<Grant> | undefined
}): Permissions => ({ read: grant(input.read), write: grant(input.write) })

/**
 * Merges two permission sets (union of every list).
 *
 * @since 0.1.0
 * @category combinators
 */
export const union = (self: Permissions, that: Permissions): Permissions => {
  const merge = (a: Grant, b: Grant): Grant => ({
    users: [...new Set([...a.users, ...b.users])],
    groups: [...new Set([...a.groups, ...b.groups])],
    roles: [...new Set([...a.roles, ...b.roles])],
    scopes: [...new Set([...a.scopes, ...b.scopes])]
  })
  return { read: merge(self.read, that.read), write: merge(self.write, that.write) }
}

/**
 * True if the grant covers the principal (`undefined` = anonymous caller, which only
 * `users: ["*"]` covers).
 *
 * @since 0.1.0
 * @category predicates
 */
export const granted = (grant: Grant, who: Principal | undefined): boolean => {
  if (grant.users.includes("*")) return true
  if (who === undefined) return false
  if (grant.users.includes(who.id)) return true
  if (who.groups.some((g) => grant.groups.includes(g))) return true
  if (who.roles.some((r) => grant.roles.includes(r))) return true
  return who.scopes.some((s) => grant.scopes.includes(s))
}

/**
 * Whether `who` may read an execution with this owner and these permissions.
 * Write access implies read access; the owner always has both.
 *
 * @example
 * import { Access } from "@truce/core"
 * const bob = Access.principal({ id: "bob", groups: ["ops"] })
 * Access.canRead({ owner: "alice", permissions: Access.permissions({ read: { groups: ["ops"] } }) }, bob) // true
 *
 * @since 0.1.0
 * @category predicates
 */
export const canRead = (
  target: { readonly owner?: string | undefined; readonly permissions: Permissions },
  who: Principal | undefined
): boolean =>
  (who !== undefined && target.owner !== undefined && target.owner === who.id) ||
  granted(target.permissions.read, who) ||
  granted(target.permissions.write, who)

/**
 * Whether `who` may write (interrupt, resume) an execution.
 *
 * @since 0.1.0
 * @category predicates
 */
export const canWrite = (
  target: { readonly owner?: string | undefined; readonly permissions: Permissions },
  who: Principal | undefined
): boolean =>
  (who !== undefined && target.owner !== undefined && target.owner === who.id) ||
  granted(target.permissions.write, who)
