"""The HTTP layer: the ASGI app, GraphQL over HTTP and WebSocket, GraphiQL and its login."""
