// Reads the schema from the running gateway by introspection (with each scalar's @specifiedBy URL)
// and writes it as SDL to build/schema.graphql, where codegen.ts and relay.config.json read it.
import { mkdirSync, writeFileSync } from "node:fs";
import { buildClientSchema, getIntrospectionQuery, isScalarType, printSchema } from "graphql";

const response = await fetch(process.env.OMNIFY_GRAPHQL_URL, {
  method: "POST",
  headers: { "content-type": "application/json", authorization: `Bearer ${process.env.OMNIFY_TOKEN}` },
  body: JSON.stringify({ query: getIntrospectionQuery({ specifiedByUrl: true, descriptions: false }) }),
});
const { data, errors } = await response.json();
if (errors) throw new Error(JSON.stringify(errors));
const schema = buildClientSchema(data);
mkdirSync("build", { recursive: true });
writeFileSync("build/schema.graphql", printSchema(schema));
const custom = Object.values(schema.getTypeMap()).filter((t) => isScalarType(t) && !t.name.startsWith("__"));
const builtIn = new Set(["String", "Int", "Float", "Boolean", "ID"]);
console.log(
  JSON.stringify(
    Object.fromEntries(custom.filter((t) => !builtIn.has(t.name)).map((t) => [t.name, t.specifiedByURL ?? null])),
  ),
);
