"""MySQL side: connections, statement executors (direct or through an MCP server), introspection, reading."""
