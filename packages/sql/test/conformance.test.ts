import { conformance } from "@truce/core/testing/ExecutionStoreConformance"
import { SqliteExecutionStore } from "@truce/sql"
import { tempDb } from "./support/tempDb.js"

// Each test gets a fresh database file.
conformance("SqliteExecutionStore", () => SqliteExecutionStore.layer({ filename: tempDb("conformance") }))
