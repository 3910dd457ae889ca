// `node --import ./bench/register.mjs file.ts`: compile TypeScript as a build would (see loader.mjs).
import { register } from "node:module"

register("./loader.mjs", import.meta.url)
