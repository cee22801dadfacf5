"""I/O adapters, one module per outside system; each translates its library errors in one place."""
