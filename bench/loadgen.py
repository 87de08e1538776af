"""A small HTTP/1.1 keep-alive load generator, run as its own process by bench/compare.py.

    python bench/loadgen.py PORT CONNECTIONS SECONDS < requests.json

stdin holds a JSON object: {"path": "/graphql", "headers": {...}, "bodies": [<JSON body>, ...]}.
Each connection sends the bodies in turn (request i of a connection uses
bodies[i % len]), one request at a time, for SECONDS. It prints one JSON line:
requests, errors (non-200 or an `errors` member in the body), the first error
seen, the count of each HTTP status, and latency percentiles in milliseconds. Running in its own process
keeps the client's work out of the measured server's interpreter and CPU time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any


async def connection(
    port: int, requests: list[bytes], deadline: float, samples: list[float], errors: list[str], statuses: Counter[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            status_line = await reader.readline()
            length = -1
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length < 0:
                errors.append(f"no content-length: {status_line!r}")
                return
            body = await reader.readexactly(length)
            samples.append(time.perf_counter() - started)
            statuses[status_line.split(b" ", 2)[1].decode()] += 1
            if b" 200 " not in status_line or b'"errors"' in body:
                at = max(body.find(b'"errors"'), 0)
                errors.append(f"{status_line.decode().strip()} {body[at : at + 300].decode(errors='replace')}")
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        errors.append(f"connection: {exc!r}")
    finally:
        writer.close()


def encode(path: str, headers: dict[str, str], body: Any) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


async def main(port: int, connections: int, seconds: float) -> None:
    spec = json.load(sys.stdin)
    requests = [encode(spec["path"], spec["headers"], b) for b in spec["bodies"]]
    samples: list[float] = []
    errors: list[str] = []
    statuses: Counter[str] = Counter()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(connection(port, requests, deadline, samples, errors, statuses) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2) if ordered else 0.0

    print(
        json.dumps(
            {
                "requests": len(samples),
                "seconds": round(elapsed, 3),
                "errors": len(errors),
                "firstError": errors[0] if errors else None,
                "statuses": dict(statuses),
                "p50": pick(0.5),
                "p99": pick(0.99),
                "max": pick(1.0),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
