// What the client scripts share: every console message and process warning a client library
// prints is recorded (the suite fails on any), the documents are those of the codegen manifest,
// and the cache configuration comes from the schema the way docs/frontend.md describes.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { format } from "node:util";
import { buildSchema, parse } from "graphql";

export const printed = [];
for (const level of ["warn", "error", "info", "log", "debug"]) {
  console[level] = (...args) => printed.push(`console.${level}: ${format(...args)}`);
}
process.on("warning", (warning) => printed.push(`process warning: ${warning.name}: ${warning.message}`));

export const url = process.env.OMNIFY_GRAPHQL_URL;
export const token = process.env.OMNIFY_TOKEN;
export const range = { from: process.env.OMNIFY_FROM, to: process.env.OMNIFY_TO };

const require = createRequire(import.meta.url);
const schema = buildSchema(readFileSync(new URL("build/schema.graphql", import.meta.url), "utf8"));
const generated = require("./cache-types.cjs");
// What codegen writes to src/gql/identityless.ts, which an application imports.
export const identitylessTypes = generated.identitylessTypes(schema);
export const connectionFields = generated.connectionFields(schema);
export const possibleTypes = generated.possibleTypes(schema);

// The manifest GraphQL Code Generator wrote: operation name -> { hash, text, document }.
const manifest = JSON.parse(readFileSync(new URL("src/gql/persisted-documents.json", import.meta.url), "utf8"));
export const operations = {};
for (const [hash, text] of Object.entries(manifest)) {
  const document = parse(text);
  const operation = document.definitions.find((d) => d.kind === "OperationDefinition");
  if (operation) operations[operation.name.value] = { hash, text, document };
}

export function finish(result) {
  process.stdout.write(`${JSON.stringify({ ...result, printed })}\n`);
  process.exit(0);
}

export async function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
