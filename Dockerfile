# The production image: the gateway and its run-time dependencies only (no embedded dev stores).
# The base image is pinned by digest; the tag says which release it is.
FROM python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91
WORKDIR /app
COPY requirements/lock.txt ./requirements/
# The locked versions and hashes first (a layer of its own, kept while only the code changes),
# then the gateway without resolving anything again: no dev stores, no test tools.
RUN pip install --no-cache-dir --require-hashes -r requirements/lock.txt
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY resolvers ./resolvers
RUN pip install --no-cache-dir --no-deps . && useradd --system --uid 10001 gateway
USER gateway
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz')" || exit 1
# SIGTERM drains: the replica stops accepting, finishes what is in flight, then exits.
STOPSIGNAL SIGTERM
CMD ["omnify-gateway", "serve"]
