FROM python:3.12-slim
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
CMD ["omnify-gateway", "serve"]
