import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "build/schema.graphql",
  documents: ["src/**/*.ts", "!src/gql/**"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        strictScalars: true,
        scalars: {
          Currency: "string",
          Date: "string",
          DateTime: "string",
          Decimal: { input: "string | number", output: "string" },
          JSON: "unknown",
        },
        enumsAsTypes: true,
        useTypeImports: true,
      },
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { mode: "embedHashInDocument", hashAlgorithm: "sha256" },
      },
    },
    "src/gql/identityless.ts": { plugins: ["./cache-types.cjs"] },
  },
};

export default config;
