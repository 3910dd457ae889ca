#!/usr/bin/env -S node --import tsx
/**
 * The `truce` program: drive a remote Truce HTTP server from a terminal (see `Remote`).
 *
 *   node --import tsx packages/cli/src/bin.ts --help
 *
 * @since 0.1.0
 */
import { main } from "./Remote.js"

main()
