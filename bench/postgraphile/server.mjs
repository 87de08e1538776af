// PostGraphile 5 (Grafast) on the benchmark's database, as bench/compare.py's peer.
//
//   DATABASE_URL=postgresql://owner@host:port/db PORT=8123 WORKERS=2 POOL_MAX=20 node server.mjs
//
// The amber preset over the `public` schema, served by grafserv on Node's http server, one process
// per worker (node:cluster, sharing the port), /healthz for readiness. It connects as the URL's
// role (the benchmark's owner) with no token check and no tenant transaction: PostGraphile's
// fastest configuration, not a deployable one.
import cluster from "node:cluster";
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const port = Number(process.env.PORT ?? process.env.OMNIFY_PORT ?? 8123);
const workers = Number(process.env.WORKERS ?? 1);

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill("SIGTERM");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  const preset = {
    extends: [PostGraphileAmberPreset],
    pgServices: [
      makePgService({
        connectionString: process.env.DATABASE_URL,
        schemas: ["public"],
        poolConfig: { max: Number(process.env.POOL_MAX ?? 20) },
      }),
    ],
    grafserv: { graphiql: false, watch: false },
    grafast: { explain: false },
  };
  const serv = postgraphile(preset).createServ(grafserv);
  const graphql = serv.createHandler(); // plain HTTP: the benchmark needs no websockets
  const server = createServer((req, res) => {
    if (req.url === "/healthz") res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    else graphql(req, res);
  });
  server.listen(port, "127.0.0.1");
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
