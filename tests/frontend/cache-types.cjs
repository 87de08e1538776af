// A GraphQL Code Generator plugin that writes the two facts client caches need from the schema:
// `identitylessTypes`, the object types without an `id` (values such as Money and Performance,
// connections, edges, payloads), which a cache must keep inside their parent rather than
// normalize; and `connectionFields`, every Relay connection field by type, with the arguments
// that select a different list (all but first/after/last/before), for cursor pagination; and
// `possibleTypes`, the object types of each interface and union, for fragments on them.
const { isAbstractType, isObjectType, getNamedType } = require("graphql");

const PAGING = new Set(["first", "after", "last", "before"]);

function objectTypes(schema) {
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]);
  return Object.values(schema.getTypeMap()).filter((t) => isObjectType(t) && !t.name.startsWith("__") && !roots.has(t));
}

function identitylessTypes(schema) {
  return objectTypes(schema)
    .filter((t) => !("id" in t.getFields()))
    .map((t) => t.name)
    .sort();
}

function connectionFields(schema) {
  const found = {};
  for (const type of objectTypes(schema).sort((a, b) => a.name.localeCompare(b.name))) {
    for (const field of Object.values(type.getFields())) {
      const names = field.args.map((a) => a.name);
      if (getNamedType(field.type).name.endsWith("Connection") && names.includes("after")) {
        (found[type.name] ??= {})[field.name] = names.filter((n) => !PAGING.has(n));
      }
    }
  }
  return found;
}

function possibleTypes(schema) {
  const abstract = Object.values(schema.getTypeMap()).filter((t) => isAbstractType(t) && !t.name.startsWith("__"));
  return Object.fromEntries(abstract.map((t) => [t.name, schema.getPossibleTypes(t).map((o) => o.name).sort()]));
}

module.exports = {
  identitylessTypes,
  connectionFields,
  possibleTypes,
  plugin: (schema) =>
    `export const identitylessTypes = ${JSON.stringify(identitylessTypes(schema))} as const;\n` +
    `export const connectionFields: Record<string, Record<string, string[]>> = ${JSON.stringify(connectionFields(schema))};\n` +
    `export const possibleTypes: Record<string, string[]> = ${JSON.stringify(possibleTypes(schema))};\n`,
};
