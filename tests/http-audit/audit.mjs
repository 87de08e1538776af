// Runs graphql-http's server audit against a running gateway and prints one JSON summary line.
// Usage: OMNIFY_AUDIT_URL=http://127.0.0.1:8000/graphql OMNIFY_AUDIT_TOKEN=<bearer> node audit.mjs
import { auditServer } from 'graphql-http';

const url = process.env.OMNIFY_AUDIT_URL;
const token = process.env.OMNIFY_AUDIT_TOKEN;
if (!url || !token) {
  console.error('set OMNIFY_AUDIT_URL and OMNIFY_AUDIT_TOKEN');
  process.exit(2);
}

// The endpoint sits behind authentication: every audit request carries the bearer token.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
const level = (name) => name.split(' ')[0].replace('NOT', '').trim();
const summary = { MUST: { ok: 0, total: 0 }, SHOULD: { ok: 0, total: 0 }, MAY: { ok: 0, total: 0 } };
const failures = [];
for (const result of results) {
  const bucket = summary[level(result.name)] ?? summary.MAY;
  bucket.total += 1;
  if (result.status === 'ok') {
    bucket.ok += 1;
  } else {
    let body = null;
    try {
      body = await result.response.text();
    } catch {
      body = null;
    }
    failures.push({ id: result.id, name: result.name, status: result.status, reason: result.reason, body });
  }
}
console.log(JSON.stringify({ summary, failures }));
